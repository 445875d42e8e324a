use std::collections::HashSet;

use dsms::Application;
use dsms_store::audit;
use dsms_testkit::TestDatabase;
use dsms_tests::{TestApp, test_config};

#[tokio::test]
async fn the_first_start_creates_one_administrator_with_a_random_password() {
    let app = TestApp::spawn().await;
    let credentials = app
        .initial_admin
        .clone()
        .expect("an administrator was created");
    assert_eq!(credentials.email, "admin@dsms.localhost");
    assert!(credentials.password.len() >= 20);

    let created: Vec<_> = app
        .db
        .read_blocking(|conn| {
            let mut all = audit::for_entity(conn, "organisation", "1")?;
            all.extend(audit::for_entity(conn, "person", "1")?);
            Ok::<_, dsms_store::StoreError>(all)
        })
        .unwrap();
    let actions: HashSet<_> = created.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains("organisation.created"), "{actions:?}");
    assert!(actions.contains("person.created"), "{actions:?}");
    assert!(
        created
            .iter()
            .all(|e| e.actor_kind == "system" && e.actor_id == "bootstrap")
    );

    let other = TestApp::spawn().await;
    assert_ne!(
        other.initial_admin.expect("created").password,
        credentials.password,
        "never a fixed default password"
    );

    let restarted = app.restart().await;
    assert!(
        restarted.initial_admin.is_none(),
        "a restart does not create another administrator"
    );
}

#[tokio::test]
async fn instances_starting_together_create_exactly_one_administrator() {
    let test_db = TestDatabase::new();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (a, b) = tokio::join!(
        Application::build(test_config(dirs[0].path(), test_db.url())),
        Application::build(test_config(dirs[1].path(), test_db.url())),
    );
    let (a, b) = (a.expect("first instance"), b.expect("second instance"));
    let created = [a.initial_admin().is_some(), b.initial_admin().is_some()];
    assert_eq!(
        created.iter().filter(|c| **c).count(),
        1,
        "exactly one instance bootstraps: {created:?}"
    );
}
