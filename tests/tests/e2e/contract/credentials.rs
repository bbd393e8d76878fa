//! Probe credentials: `probe revoke` refuses a token from the next request on, `probe rotate`
//! gives a new one and the old one stops working at once, and only `probe restore` lifts a
//! revocation (with a new token); nothing spooled is lost meanwhile.

use fathom_e2e::{Agent, Collector, run};

#[test]
fn a_revoked_token_is_refused_at_once_and_a_restored_probe_comes_back_with_a_new_token() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("p-cred", "county-hospital");
    let mut agent = Agent::new(&collector.url, "p-cred", "county-hospital", &token);
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    let stored_before = collector.stored_ids().len();
    assert!(stored_before > 0);

    let (status, out, err) = run(collector
        .command()
        .args(["probe", "revoke", "--id", "p-cred"]));
    assert!(status.success(), "{err}");
    assert!(out.contains("revoked"), "{out}");
    let (_, list, _) = run(collector.command().args(["probe", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("p-cred\t") && l.contains("\trevoked ")),
        "{list}"
    );

    // The running collector refuses the very next upload; the results wait in the spool.
    let (status, log) = agent.run_once();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("revoked token"), "{log}");
    assert_eq!(collector.stored_ids().len(), stored_before);
    let (pending, _) = agent.spool_counts();
    assert!(pending > 0);

    // Rotation does not lift a revocation; `restore` does, with a new token printed on one
    // line, and the old one stays refused.
    let (status, _, err) = run(collector
        .command()
        .args(["probe", "rotate", "--id", "p-cred"]));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("probe restore"), "{err}");
    let (status, out, err) = run(collector
        .command()
        .args(["probe", "restore", "--id", "p-cred"]));
    assert!(status.success(), "{err}");
    let new_token = out.trim().to_owned();
    assert!(new_token.starts_with("fth_") && new_token != token, "{out}");
    let (status, log) = agent.run_once();
    assert_eq!(
        status.code(),
        Some(1),
        "the old token must stay refused: {log}"
    );
    assert!(log.contains("unknown token"), "{log}");

    let config = std::fs::read_to_string(agent.config()).unwrap();
    std::fs::write(agent.config(), config.replace(&token, &new_token)).unwrap();
    let (status, log) = agent.run_once();
    assert!(status.success(), "{log}");
    assert_eq!(agent.spool_counts(), (0, 0));
    let (_, list, _) = run(collector.command().args(["probe", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("p-cred\t") && l.ends_with("\tactive")),
        "{list}"
    );

    // Unknown probes are a usage error.
    let (status, _, err) = run(collector
        .command()
        .args(["probe", "revoke", "--id", "nobody"]));
    assert_eq!(status.code(), Some(2), "{err}");
}
