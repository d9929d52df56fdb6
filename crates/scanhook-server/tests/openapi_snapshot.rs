//! The committed `openapi.json` must match the document the code generates, so a change to
//! the API cannot slip in unnoticed: it shows up in review as a diff of that file.

#[test]
fn committed_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let current = format!("{}\n", scanhook_server::openapi::document());
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &current).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "openapi.json is out of date with the code. If the API change is intended, run\n  \
         UPDATE_OPENAPI=1 cargo test -p scanhook-server --test openapi_snapshot\nand commit openapi.json."
    );
}
