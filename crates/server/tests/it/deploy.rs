//! The files in `deploy/` checked against the real server: every YAML and JSON file parses,
//! the manifests' probes, ports and environment variables are ones the binary knows, the
//! systemd unit verifies and its command serves, the alert rules and dashboard read metrics the
//! server exports, and the compose topology runs (two servers on one database) on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dsms_testkit::{free_port, skip};
use serde_json::Value;

use crate::support::Env;

/// A master key, for configurations that need one.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(path)
}

/// Every document of a YAML file as JSON, through PyYAML; `None` (after reporting the skip)
/// when Python or PyYAML is missing.
fn yaml(test: &str, path: &str) -> Option<Vec<Value>> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml\n\
             print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')))))",
        ])
        .arg(deploy(path))
        .output();
    match out {
        Ok(out) if out.status.success() => {
            Some(serde_json::from_slice(&out.stdout).expect("PyYAML's JSON"))
        }
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named 'yaml'") => {
            skip(test, "PyYAML is not installed (pip install pyyaml)");
            None
        }
        Ok(out) => panic!(
            "{path} is not valid YAML: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => {
            skip(test, "python3 is not installed");
            None
        }
    }
}

fn single(test: &str, path: &str) -> Option<Value> {
    let mut docs = yaml(test, path)?;
    assert_eq!(docs.len(), 1, "{path}: one document");
    docs.pop()
}

/// `dsms config show` with exactly these variables: fails the test, naming the file, when the
/// server does not accept one of them.
fn config_show(env: &Env, vars: &BTreeMap<String, String>, origin: &str) -> String {
    let out = env
        .command(&["config", "show"])
        .env_remove("DSMS_DATABASE_URL")
        .envs(vars)
        .output()
        .expect("run dsms");
    assert!(
        out.status.success(),
        "{origin}: the server refuses its settings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stand-ins for the values a deployment keeps secret.
fn secret_value(name: &str) -> String {
    match name {
        "DSMS_DATABASE_URL" => "postgres://dsms:secret@db.internal:5432/dsms".into(),
        "DSMS_DATABASE_REPLICA_URL" => {
            "postgres://dsms_ro:secret@replica.internal:5432/dsms".into()
        }
        "DSMS_AUTH_SECRET_KEY" => KEY.into(),
        _ => "secret".into(),
    }
}

fn pod_spec(doc: &Value) -> &Value {
    &doc["spec"]["template"]["spec"]
}

/// The variables a container gets: from its ConfigMap and its own `env` entries.
fn container_env(container: &Value, config_map: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        assert_eq!(
            source["configMapRef"]["name"], config_map["metadata"]["name"],
            "envFrom names the ConfigMap"
        );
        for (k, v) in config_map["data"].as_object().expect("ConfigMap data") {
            vars.insert(k.clone(), v.as_str().expect("string values").to_owned());
        }
    }
    for entry in container["env"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().expect("env name").to_owned();
        let value = entry["value"]
            .as_str()
            .map_or_else(|| secret_value(&name), str::to_owned);
        vars.insert(name, value);
    }
    vars
}

#[test]
fn kubernetes_manifests_are_valid_and_name_the_servers_settings_probes_and_ports() {
    let test = "kubernetes_manifests";
    let Some(kustomization) = single(test, "kubernetes/kustomization.yaml") else {
        return;
    };
    let mut docs: BTreeMap<String, Value> = BTreeMap::new();
    for resource in kustomization["resources"].as_array().expect("resources") {
        let file = format!("kubernetes/{}", resource.as_str().expect("a file"));
        let doc = single(test, &file).expect("parsed");
        assert!(
            doc["apiVersion"].is_string() && doc["kind"].is_string(),
            "{file}"
        );
        docs.insert(doc["kind"].as_str().unwrap().to_owned(), doc);
    }
    let secret = single(test, "kubernetes/secret.example.yaml").expect("parsed");
    let deployment = &docs["Deployment"];
    let config_map = &docs["ConfigMap"];
    let job = &docs["Job"];
    let env = Env::new();

    let server = &pod_spec(deployment)["containers"][0];
    assert!(deployment["spec"]["replicas"].as_i64().unwrap() >= 2);
    assert_eq!(server["args"], serde_json::json!(["serve"]));
    let port = &server["ports"][0];
    assert_eq!(port["name"], "http");
    let vars = container_env(server, config_map);
    let shown = config_show(&env, &vars, "deployment.yaml");
    assert!(
        shown.contains(&format!("listen = \"0.0.0.0:{}\"", port["containerPort"])),
        "the container port is where the server listens: {shown}"
    );
    assert!(shown.contains("migrate_on_start = false"), "{shown}");
    for (probe, path) in [
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ] {
        assert_eq!(server[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(server[probe]["httpGet"]["port"], "http", "{probe}");
    }
    assert!(server["resources"]["requests"]["cpu"].is_string());
    assert!(server["resources"]["requests"]["memory"].is_string());
    assert!(server["resources"]["limits"]["memory"].is_string());
    let grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        .as_i64()
        .unwrap();
    let drain: i64 = vars["DSMS_HTTP_SHUTDOWN_TIMEOUT_SECS"].parse().unwrap();
    assert!(grace > drain, "the pod outlives the server's drain");

    let migrate = &pod_spec(job)["containers"][0];
    assert_eq!(migrate["args"], serde_json::json!(["migrate"]));
    config_show(
        &env,
        &container_env(migrate, config_map),
        "migrate-job.yaml",
    );

    let secret_keys: BTreeSet<&String> = secret["stringData"]
        .as_object()
        .expect("stringData")
        .keys()
        .collect();
    for container in [server, migrate] {
        for entry in container["env"].as_array().into_iter().flatten() {
            let reference = &entry["valueFrom"]["secretKeyRef"];
            assert_eq!(reference["name"], secret["metadata"]["name"]);
            let key = reference["key"].as_str().unwrap().to_owned();
            assert!(secret_keys.contains(&key), "the example Secret has {key}");
        }
    }

    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selects = |selector: &Value| {
        selector
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| &pod_labels[k] == v)
    };
    assert!(selects(&deployment["spec"]["selector"]["matchLabels"]));
    let pdb = &docs["PodDisruptionBudget"];
    assert!(selects(&pdb["spec"]["selector"]["matchLabels"]));
    assert!(
        pdb["spec"]["minAvailable"].as_i64().unwrap()
            < deployment["spec"]["replicas"].as_i64().unwrap(),
        "a drain can proceed"
    );
    let service = &docs["Service"];
    assert!(selects(&service["spec"]["selector"]));
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    let backend = &docs["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend["name"], service["metadata"]["name"]);
    assert_eq!(backend["port"]["name"], service["spec"]["ports"][0]["name"]);
}

/// `dsms` processes of one topology, killed when the test ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `path` on `port` answers 200.
async fn answers(port: u16, path: &str, child: &mut Child) -> String {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(res) = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            && res.status() == 200
        {
            return res.text().await.unwrap_or_default();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{path} on {port} never answered 200"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_compose_topology_runs_two_servers_on_one_database_after_a_migrate_step() {
    let test = "compose_topology";
    let Some(compose) = single(test, "compose.yaml") else {
        return;
    };
    let services = compose["services"].as_object().expect("services");
    for name in [
        "postgres", "mailpit", "migrate", "dsms-1", "dsms-2", "proxy",
    ] {
        assert!(services.contains_key(name), "compose has {name}");
    }
    let caddyfile = std::fs::read_to_string(deploy("compose/Caddyfile")).expect("Caddyfile");
    assert!(caddyfile.contains("reverse_proxy dsms-1:8080 dsms-2:8080"));
    assert!(caddyfile.contains("health_uri /readyz"));

    let env = Env::new();
    let settings = |service: &str| -> BTreeMap<String, String> {
        services[service]["environment"]
            .as_object()
            .unwrap_or_else(|| panic!("{service} has an environment"))
            .iter()
            .map(|(k, v)| {
                let value = v.as_str().expect("string values");
                // Values compose fills in from the shell are stood in for here.
                let value = if value.contains("${") {
                    secret_value(k)
                } else {
                    value.to_owned()
                };
                (k.clone(), value)
            })
            .collect()
    };
    assert_eq!(
        services["migrate"]["command"],
        serde_json::json!(["migrate"])
    );
    let shown = config_show(&env, &settings("migrate"), "compose.yaml migrate");
    assert!(shown.contains("migrate_on_start = false"), "{shown}");

    // The same processes, on loopback: the compose file's settings with this test's database
    // in place of the postgres service's, each server on its own port.
    let local = |service: &str| {
        let mut vars = settings(service);
        vars.insert("DSMS_DATABASE_URL".into(), env.test_db.url().to_owned());
        vars.insert("DSMS_SMTP_HOST".into(), "127.0.0.1".into());
        vars.insert("DSMS_AUTH_SECRET_KEY".into(), KEY.into());
        vars
    };
    let migrated = env
        .command(&["migrate"])
        .envs(local("migrate"))
        .output()
        .expect("migrate");
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let mut processes = Processes(Vec::new());
    let mut ports = Vec::new();
    for service in ["dsms-1", "dsms-2"] {
        assert_eq!(services[service]["command"], serde_json::json!(["serve"]));
        let port = free_port();
        let child = env
            .command(&["serve"])
            .envs(local(service))
            .env("DSMS_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dsms serve");
        processes.0.push(child);
        ports.push(port);
    }
    for (i, port) in ports.iter().enumerate() {
        let ready = answers(*port, "/readyz", &mut processes.0[i]).await;
        let body: Value = serde_json::from_str(&ready).expect("JSON");
        assert_eq!(body["status"], "ready");
    }
}

#[tokio::test]
async fn the_systemd_unit_verifies_and_its_command_serves_with_its_settings() {
    let test = "systemd_unit";
    let unit = std::fs::read_to_string(deploy("systemd/dsms.service")).expect("unit");
    let values = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
            .collect()
    };
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "dsms"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(values(key), vec![value.to_owned()], "{key}");
    }
    let exec = values("ExecStart");
    let mut words = exec[0].split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/dsms"));
    let args: Vec<&str> = words.collect();
    assert_eq!(args, ["serve"]);

    let binary = env!("CARGO_BIN_EXE_dsms");
    let dir = tempfile::tempdir().expect("dir");
    let local_unit = dir.path().join("dsms.service");
    std::fs::write(&local_unit, unit.replace("/usr/local/bin/dsms", binary)).expect("write");
    match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local_unit)
        .output()
    {
        Ok(out) => assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => skip(test, "systemd-analyze is not installed"),
    }

    // The unit's command with its settings, and the example environment file's, served from a
    // temporary state directory.
    let env = Env::new();
    let mut vars: BTreeMap<String, String> = values("Environment")
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("KEY=value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let env_file = std::fs::read_to_string(deploy("systemd/dsms.env")).expect("env file");
    let from_file: BTreeMap<String, String> = env_file
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mut all = vars.clone();
    all.extend(from_file);
    config_show(&env, &all, "systemd/dsms.env");
    vars.insert(
        "DSMS_DATA_DIR".into(),
        env.data_dir.path().display().to_string(),
    );
    let port = free_port();
    vars.insert("DSMS_LISTEN".into(), format!("127.0.0.1:{port}"));
    let child = env
        .command(&args)
        .env_remove("DSMS_DATABASE_URL")
        .envs(&vars)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the unit's command");
    let mut processes = Processes(vec![child]);
    answers(port, "/readyz", &mut processes.0[0]).await;
    assert!(
        env.data_dir.path().join("dsms.sqlite3").exists(),
        "a single host keeps its SQLite database in the state directory"
    );
}

/// The `dsms_*` metric names an expression reads, as exported (without sample suffixes).
fn metric_names(expr: &str, into: &mut BTreeSet<String>) {
    let mut rest = expr;
    while let Some(at) = rest.find("dsms_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        let base = ["_bucket", "_total"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        into.insert(base.to_owned());
    }
}

#[tokio::test]
async fn alert_rules_and_the_dashboard_read_metrics_the_server_exports() {
    let test = "observability";
    let Some(rules) = single(test, "observability/prometheus-rules.yaml") else {
        return;
    };
    let mut used = BTreeSet::new();
    for group in rules["groups"].as_array().expect("groups") {
        assert!(group["name"].is_string());
        for rule in group["rules"].as_array().expect("rules") {
            let alert = rule["alert"].as_str().expect("an alert name");
            assert!(rule["labels"]["severity"].is_string(), "{alert}");
            assert!(rule["annotations"]["summary"].is_string(), "{alert}");
            metric_names(rule["expr"].as_str().expect("expr"), &mut used);
        }
    }
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("observability/grafana-dashboard.json")).expect("file"),
    )
    .expect("the dashboard is JSON");
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(panel["id"].as_i64().expect("id")),
            "ids are unique"
        );
        assert!(panel["gridPos"]["w"].is_i64());
        for target in panel["targets"].as_array().expect("targets") {
            metric_names(target["expr"].as_str().expect("expr"), &mut used);
        }
    }
    for name in [
        "dsms_outbox_oldest_pending_age_seconds",
        "dsms_sla_breaches_last_hour",
        "dsms_sign_in_locked_accounts",
        "dsms_db_pool_max_connections",
    ] {
        assert!(used.contains(name), "something watches {name}");
    }

    let env = Env::new();
    let mut server = env.serve();
    server.wait_ready().await;
    let exported = reqwest::get(server.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let declared: BTreeSet<String> = exported
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    for name in &used {
        assert!(
            declared.contains(name),
            "{name} is not exported: {declared:?}"
        );
    }
}
