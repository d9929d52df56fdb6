//! Dashboard sessions and portal links: valid only until their idle or absolute end,
//! gone with their key, and a portal link used once even when redeemed concurrently.

use chrono::Duration;
use scanhook_core::{AccountId, ApiKeyId};
use scanhook_store::*;

use super::{backends, t0};

async fn keyed_account(store: &dyn Store, name: &str) -> (AccountId, ApiKeyId) {
    let key_id = ApiKeyId::generate();
    let key = NewApiKey { id: key_id.clone(), name: "k".into(), key_hash: format!("hash-{name}"), prefix: "p".into() };
    let account = store.create_account(NewAccount { id: AccountId::generate(), name: name.into() }, key, t0()).await;
    (account.unwrap().id, key_id)
}

fn session(hash: &str, account: &AccountId, key: &ApiKeyId) -> Session {
    Session {
        token_hash: hash.into(),
        account_id: account.clone(),
        key_id: key.clone(),
        is_admin: false,
        read_only: false,
        event_types: None,
        created_at: t0(),
        idle_until: t0() + Duration::minutes(30),
        expires_at: t0() + Duration::hours(12),
    }
}

#[tokio::test]
async fn sessions_last_until_their_idle_or_absolute_end_and_sign_out_deletes_them() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (a, key) = keyed_account(s, "a").await;
        let mut new = session("h1", &a, &key);
        new.event_types = Some(vec!["scan.*".into()]);
        s.create_session(new.clone()).await.unwrap();
        assert_eq!(s.find_session("h1", t0()).await.unwrap(), Some(new.clone()), "{}", b.name);
        assert_eq!(s.find_session("other", t0()).await.unwrap(), None);
        // Idle end: gone at 30 minutes unless touched.
        assert_eq!(s.find_session("h1", t0() + Duration::minutes(30)).await.unwrap(), None, "{}", b.name);
        let later = t0() + Duration::minutes(20);
        assert!(s.touch_session("h1", later, later + Duration::minutes(30)).await.unwrap());
        let found = s.find_session("h1", t0() + Duration::minutes(45)).await.unwrap().unwrap();
        assert_eq!(found.idle_until, later + Duration::minutes(30));
        // Never backwards, never past the absolute end.
        assert!(s.touch_session("h1", later, later).await.unwrap());
        assert_eq!(s.find_session("h1", later).await.unwrap().unwrap().idle_until, later + Duration::minutes(30));
        let near_end = t0() + Duration::hours(12) - Duration::minutes(1);
        s.touch_session("h1", t0() + Duration::minutes(40), near_end + Duration::hours(1)).await.unwrap();
        assert_eq!(s.find_session("h1", near_end).await.unwrap().unwrap().idle_until, t0() + Duration::hours(12));
        assert_eq!(s.find_session("h1", t0() + Duration::hours(12)).await.unwrap(), None, "{}", b.name);
        // An ended session is not brought back by a touch.
        let after = t0() + Duration::hours(13);
        assert!(!s.touch_session("h1", after, after + Duration::minutes(30)).await.unwrap());
        // Sign-out.
        s.create_session(session("h2", &a, &key)).await.unwrap();
        s.delete_session("h2").await.unwrap();
        s.delete_session("h2").await.unwrap();
        assert_eq!(s.find_session("h2", t0()).await.unwrap(), None, "{}", b.name);
        // Deleting the key ends its sessions.
        s.create_session(session("h3", &a, &key)).await.unwrap();
        s.delete_api_key(&a, &key).await.unwrap();
        assert_eq!(s.find_session("h3", t0()).await.unwrap(), None, "{}", b.name);
    }
}

#[tokio::test]
async fn a_portal_link_opens_one_session_for_its_account_once_and_only_before_it_expires() {
    for b in backends().await {
        let s = b.store.as_ref();
        let (a, key) = keyed_account(s, "a").await;
        let (other, other_key) = keyed_account(s, "b").await;
        let link = PortalLink {
            token_hash: "link".into(),
            account_id: a.clone(),
            key_id: key.clone(),
            read_only: true,
            event_types: Some(vec!["scan.completed".into()]),
            created_at: t0(),
            expires_at: t0() + Duration::minutes(10),
        };
        s.create_portal_link(link.clone()).await.unwrap();
        let nowhere = PortalLink { token_hash: "x".into(), account_id: AccountId::generate(), ..link };
        assert!(matches!(s.create_portal_link(nowhere).await, Err(StoreError::NotFound)), "{}", b.name);
        // The session takes the link's account, key and limits, whatever it was given.
        let mut asked = session("s1", &other, &other_key);
        asked.is_admin = true;
        let got = s.redeem_portal_link("link", asked, t0()).await.unwrap().expect("first redeem");
        assert_eq!((&got.account_id, &got.key_id, got.is_admin, got.read_only), (&a, &key, false, true), "{}", b.name);
        assert_eq!(got.event_types, Some(vec!["scan.completed".to_string()]));
        assert_eq!(s.find_session("s1", t0()).await.unwrap(), Some(got));
        assert_eq!(s.redeem_portal_link("link", session("s2", &a, &key), t0()).await.unwrap(), None, "{}", b.name);
        assert_eq!(s.find_session("s2", t0()).await.unwrap(), None);

        // Expired links open nothing.
        let expiring = PortalLink {
            token_hash: "old".into(),
            account_id: a.clone(),
            key_id: key.clone(),
            read_only: false,
            event_types: None,
            created_at: t0(),
            expires_at: t0() + Duration::minutes(10),
        };
        s.create_portal_link(expiring.clone()).await.unwrap();
        let late = t0() + Duration::minutes(10);
        assert_eq!(s.redeem_portal_link("old", session("s3", &a, &key), late).await.unwrap(), None, "{}", b.name);

        // Concurrent redeems: exactly one session.
        let fresh = PortalLink { token_hash: "race".into(), ..expiring };
        s.create_portal_link(fresh).await.unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, a, key) = (b.store.clone(), a.clone(), key.clone());
                tokio::spawn(async move {
                    store.redeem_portal_link("race", session(&format!("r{i}"), &a, &key), t0()).await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            won += usize::from(task.await.unwrap().unwrap().is_some());
        }
        assert_eq!(won, 1, "{}", b.name);
    }
}
