//! Full-text search paged by cursor: every match exactly once, in key order, in both
//! directions, whatever share of the matches the other filters keep, with an old reference
//! (alias) matched alongside the words.

use dsms_core::{Actor, Principal};
use dsms_incident::{
    HistoricIncident, Impact, Incident, IncidentFilter, Priority, Raiser, Status, Urgency,
};

use crate::support::{World, incident, incident_with, page};

/// Every page of `filter` as `who`, `limit` at a time, following the cursors to the end.
fn all_pages(w: &World, who: &Principal, filter: &IncidentFilter, limit: i64) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = w
            .incidents
            .list(who, filter, page(limit, cursor.as_deref()))
            .unwrap_or_else(|e| panic!("search page: {e:?}"));
        assert!(
            page.items.len() as i64 <= limit,
            "a page holds at most its limit"
        );
        pages.push(page.items.iter().map(|i| i.id).collect());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 1_000, "the cursors never end");
    }
}

fn search(text: &str, newest_first: bool) -> IncidentFilter {
    IncidentFilter {
        search: Some(text.into()),
        newest_first,
        ..IncidentFilter::default()
    }
}

fn ids(incidents: &[&Incident]) -> Vec<i64> {
    incidents.iter().map(|i| i.id).collect()
}

#[test]
fn a_search_pages_through_many_matches_in_key_order_both_ways() {
    let w = World::new();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..40 {
        if i % 3 == 1 {
            w.raise_p3(&format!("Meter fault {i}"));
        } else if i % 5 == 0 {
            theirs.push(w.raise(
                &w.other.user.clone(),
                incident(&format!("Hub firmware rollback {i}")),
            ));
        } else {
            ours.push(w.raise_p3(&format!("Hub firmware rollback {i}")));
        }
    }
    let mut everyone: Vec<&Incident> = ours.iter().chain(&theirs).collect();
    everyone.sort_by_key(|i| i.id);
    for (who, expected) in [
        (&w.desk, ids(&everyone)),
        (&w.supplier.user, ids(&ours.iter().collect::<Vec<_>>())),
    ] {
        for limit in [1, 3, 7, 100] {
            let pages = all_pages(&w, who, &search("firmware hub", false), limit);
            assert_eq!(pages.concat(), expected, "oldest first, {limit} a page");
            assert!(
                pages[..pages.len() - 1]
                    .iter()
                    .all(|p| p.len() as i64 == limit),
                "every page but the last is full"
            );
            let mut newest = expected.clone();
            newest.reverse();
            let pages = all_pages(&w, who, &search("firmware hub", true), limit);
            assert_eq!(pages.concat(), newest, "newest first, {limit} a page");
        }
    }
}

#[test]
fn a_search_whose_filters_reject_nearly_every_match_still_finds_each_page() {
    let w = World::new();
    let mut wanted = Vec::new();
    for i in 0..300 {
        // Far enough apart that the search gives up reading matches in key order and walks
        // the priority 1 incidents instead.
        if matches!(i, 3 | 250 | 297) {
            wanted.push(w.raise(
                &w.supplier.user.clone(),
                incident_with(&format!("Firmware rollback failed {i}"), 1, 1),
            ));
        } else {
            w.raise_p3(&format!("Firmware rollback {i}"));
        }
    }
    // A priority 1 incident without the word is no match.
    w.raise(&w.supplier.user.clone(), incident_with("Meter fault", 1, 1));
    let priority = wanted[0].priority;
    assert!(wanted.iter().all(|i| i.priority == priority));
    for newest_first in [false, true] {
        let filter = IncidentFilter {
            priorities: vec![i64::from(priority)],
            ..search("firmware", newest_first)
        };
        let mut expected: Vec<Vec<i64>> = wanted.iter().map(|i| vec![i.id]).collect();
        if newest_first {
            expected.reverse();
        }
        assert_eq!(
            all_pages(&w, &w.desk, &filter, 1),
            expected,
            "newest first: {newest_first}"
        );
    }
}

#[test]
fn a_search_finds_an_old_reference_among_the_word_matches_once() {
    let w = World::new();
    let before = w.raise_p3("Old meter 7 offline");
    let raiser = Raiser {
        kind: "person".into(),
        id: w.supplier.user.person_id().expect("a person"),
        name: "User".into(),
    };
    let imported =
        w.db.write_blocking(|conn| {
            w.incidents.import_historic(
                conn,
                w.now(),
                &Actor::system("test"),
                "legacy",
                "old 7",
                "digest",
                &HistoricIncident {
                    organisation_id: w.supplier.id,
                    raised_by: raiser,
                    channel: "portal".into(),
                    contact: None,
                    title: "Imported fault".into(),
                    description: "Brought over from the previous tool.".into(),
                    category: "communications_hub".into(),
                    subcategory: None,
                    impact: Impact::parse(2).expect("impact"),
                    urgency: Urgency::parse(2).expect("urgency"),
                    priority: Priority::parse(3).expect("priority"),
                    priority_reason: None,
                    status: Status::New,
                    assignment_group: None,
                    assignee_id: None,
                    resolution_code: None,
                    resolution_notes: None,
                    region: None,
                    devices: Vec::new(),
                    created_at: w.now(),
                    updated_at: w.now(),
                    responded_at: None,
                    resolved_at: None,
                    closed_at: None,
                },
            )
        })
        .expect("imported")
        .id();
    let after = [
        w.raise_p3("Old meter 7 offline again"),
        w.raise_p3("Old meter 7 still offline"),
    ];
    let expected = vec![before.id, imported, after[0].id, after[1].id];
    for who in [&w.desk, &w.supplier.user] {
        for limit in [1, 2, 3, 10] {
            let pages = all_pages(&w, who, &search("old 7", false), limit);
            assert_eq!(pages.concat(), expected, "{limit} a page");
            let mut newest = expected.clone();
            newest.reverse();
            let pages = all_pages(&w, who, &search("old 7", true), limit);
            assert_eq!(pages.concat(), newest, "newest first, {limit} a page");
        }
    }
    let filter = IncidentFilter {
        statuses: vec!["closed".into()],
        ..search("old 7", false)
    };
    assert_eq!(
        all_pages(&w, &w.desk, &filter, 5).concat(),
        Vec::<i64>::new(),
        "the alias match is filtered like the word matches"
    );
    assert_eq!(
        all_pages(&w, &w.other.user, &search("old 7", false), 5).concat(),
        Vec::<i64>::new(),
        "another organisation's"
    );
}
