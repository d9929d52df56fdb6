//! The payloads of the events scanhook derives from what scanners report. Field names
//! follow the Juro documents receivers are written against (`projectId`, `scanId`, …).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::envelope::format_timestamp;
use crate::{EventType, ProjectId};

pub const PROJECT_CREATED: &str = "project.created";
pub const PROJECT_DELETED: &str = "project.deleted";

/// `project.created` / `project.deleted`: the project as it was at that moment.
pub fn project(
    event_type: &'static str,
    id: &ProjectId,
    name: &str,
    target: Option<&str>,
    at: DateTime<Utc>,
) -> (EventType, Value) {
    let when = if event_type == PROJECT_DELETED { "deletedAt" } else { "createdAt" };
    let data = json!({ "projectId": id.as_str(), "name": name, "target": target, when: format_timestamp(at) });
    (EventType::from_trusted(event_type.to_string()), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_events_carry_the_project() {
        let id: ProjectId = "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (t, data) = project(PROJECT_DELETED, &id, "web", Some("example.com"), at);
        assert_eq!(t.as_str(), "project.deleted");
        assert_eq!(
            data,
            json!({"projectId": id.as_str(), "name": "web", "target": "example.com", "deletedAt": "2023-11-14T22:13:20.000Z"})
        );
    }
}
