//! The deployment files under `deploy/`: each parses, and the facts that tie them to the code
//! hold (probe paths answer, the process is not root, every variable name is one Folio reads).
//! Docker, Kubernetes and systemd do not run here, so this is what can be checked.

use crate::harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use serde::Deserialize as _;
use serde_json::{Value, json};

/// The variables of SPEC §4 "Configuration".
const SPEC_VARIABLES: &[&str] = &[
    "FOLIO_LISTEN",
    "FOLIO_DATABASE_URL",
    "FOLIO_APP_ID",
    "FOLIO_PRIVATE_KEY",
    "FOLIO_PRIVATE_KEY_PATH",
    "FOLIO_WEBHOOK_SECRET",
    "FOLIO_GITHUB_API_URL",
    "FOLIO_WEB_URL",
    "FOLIO_WORKERS",
    "FOLIO_LOG",
    "FOLIO_LOG_FORMAT",
    "FOLIO_PUBLIC_URL",
    "FOLIO_CREDENTIALS_PATH",
    "FOLIO_ADMIN_LISTEN",
    "FOLIO_SETUP_TOKEN",
    "GITHUB_TOKEN",
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(deploy_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every document of a YAML file.
fn yaml_docs(text: &str, name: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

/// All Kubernetes objects, by kind.
fn k8s() -> BTreeMap<String, Value> {
    let mut paths = Vec::new();
    files(&deploy_dir().join("k8s"), &mut paths);
    let mut by_kind = BTreeMap::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        for doc in yaml_docs(&text, &p.display().to_string()) {
            let kind = doc["kind"].as_str().expect("kind").to_string();
            assert!(
                doc["apiVersion"].is_string(),
                "{}: no apiVersion",
                p.display()
            );
            assert!(
                by_kind.insert(kind.clone(), doc).is_none(),
                "two objects of kind {kind}"
            );
        }
    }
    by_kind
}

#[test]
fn every_yaml_and_json_file_parses() {
    let mut paths = Vec::new();
    files(&deploy_dir(), &mut paths);
    let mut checked = 0;
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        match p.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                checked += 1;
            }
            Some("yml" | "yaml") => {
                assert!(!yaml_docs(&text, &p.display().to_string()).is_empty());
                checked += 1;
            }
            _ => {}
        }
    }
    // The manifest, the issue form and the five Kubernetes files.
    assert!(checked >= 7, "only {checked} files checked");
}

#[test]
fn app_manifest_asks_for_exactly_what_folio_uses() {
    let m: Value = serde_json::from_str(&read("github-app-manifest.json")).unwrap();
    assert_eq!(
        m["default_permissions"],
        json!({
            "issues": "write",
            "pull_requests": "read",
            "contents": "read",
            "metadata": "read",
            "checks": "read"
        })
    );
    assert_eq!(m["default_events"], json!(["issues", "issue_comment"]));
    assert_eq!(m["public"], false);
    assert_eq!(m["hook_attributes"]["active"], true);
    assert!(
        m["hook_attributes"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/webhook")
    );
    assert!(
        m["redirect_url"]
            .as_str()
            .unwrap()
            .ends_with("/setup/callback")
    );
}

#[test]
fn issue_form_matches_what_folio_parses() {
    let form = &yaml_docs(&read("issue-template/portfolio.yml"), "portfolio.yml")[0];
    assert_eq!(form["name"], "Portfolio submission");
    assert!(
        form["labels"]
            .as_array()
            .unwrap()
            .contains(&json!("folio: submission"))
    );
    let labels: Vec<&str> = form["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["attributes"]["label"].as_str())
        .collect();
    for heading in ["GitHub username", "Pull requests", "Repositories", "Notes"] {
        assert!(
            labels.contains(&heading),
            "{heading} missing from {labels:?}"
        );
    }
}

#[test]
fn issue_form_links_to_the_terms_and_asks_for_the_candidates_consent() {
    let form = &yaml_docs(&read("issue-template/portfolio.yml"), "portfolio.yml")[0];
    let body = form["body"].as_array().unwrap();
    let intro = body
        .iter()
        .find(|f| f["type"] == "markdown")
        .and_then(|f| f["attributes"]["value"].as_str())
        .expect("an introduction");
    // A Markdown link whose target is the terms page, served by Folio at /privacy.
    let target = intro
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .find(|t| t.ends_with("/privacy"))
        .unwrap_or_else(|| panic!("no link to /privacy in {intro:?}"));
    let url = url::Url::parse(target).unwrap_or_else(|e| panic!("{target}: {e}"));
    assert_eq!(url.scheme(), "https");
    for fact in ["review comments", "quoted", "public", "mentioned this"] {
        assert!(intro.contains(fact), "the form does not say {fact:?}");
    }

    let consent = body
        .iter()
        .find(|f| f["type"] == "checkboxes")
        .expect("a consent checkbox");
    let options = consent["attributes"]["options"].as_array().unwrap();
    assert!(
        options
            .iter()
            .any(|o| o["required"] == true && o["label"].as_str().unwrap().contains("candidate")),
        "{options:?}"
    );
    // The checkbox's text lands in the issue under its own heading, where Folio looks for
    // links to evaluate: it must hold none.
    assert!(!consent.to_string().contains("http"), "{consent}");
}

fn container(objects: &BTreeMap<String, Value>) -> &Value {
    &objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
}

#[tokio::test]
async fn kubernetes_probes_hit_routes_that_exist() {
    let objects = k8s();
    let c = container(&objects);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    // The probes name the container's port.
    let port_name = c["ports"][0]["name"].as_str().unwrap();
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], port_name);
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], port_name);
    let port = c["ports"][0]["containerPort"].as_u64().unwrap();
    let listen = objects["ConfigMap"]["data"]["FOLIO_LISTEN"]
        .as_str()
        .unwrap();
    assert!(listen.ends_with(&format!(":{port}")), "{listen} vs {port}");

    let app = harness::spawn(None).await;
    for probe in ["livenessProbe", "readinessProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().unwrap();
        let res = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        // /readyz may say 503 here (no app credentials), but the route must exist.
        assert_ne!(res.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    let res = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    app.stop().await;
}

/// Prometheus scrapes the pods' admin port, which serves `/metrics`; the Service, which the
/// Ingress (and so the internet) reaches, exposes the public port alone.
#[tokio::test]
async fn kubernetes_scrapes_the_admin_port_which_the_service_does_not_expose() {
    let objects = k8s();
    let c = container(&objects);
    let ports = c["ports"].as_array().unwrap();
    let port_of = |name: &str| {
        ports
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no container port {name}"))["containerPort"]
            .as_u64()
            .unwrap()
    };
    let admin = port_of("admin");
    let http = port_of("http");
    assert_ne!(admin, http);
    let annotations = &objects["Deployment"]["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], admin.to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    let admin_listen = objects["ConfigMap"]["data"]["FOLIO_ADMIN_LISTEN"]
        .as_str()
        .unwrap();
    assert!(
        admin_listen.ends_with(&format!(":{admin}")),
        "{admin_listen} vs {admin}"
    );
    for p in objects["Service"]["spec"]["ports"].as_array().unwrap() {
        assert_eq!(p["targetPort"], "http", "the Service exposes {p}");
    }

    let app = harness::spawn(None).await;
    let status = |url: String| {
        let http = app.http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    assert_eq!(status(format!("{}/metrics", app.admin_url)).await, 200);
    assert_eq!(status(format!("{}/metrics", app.url)).await, 404);
    app.stop().await;
}

#[test]
fn kubernetes_runs_several_non_root_replicas_on_postgres() {
    let objects = k8s();
    let deployment = &objects["Deployment"];
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_ne!(pod["securityContext"]["runAsUser"].as_u64(), Some(0));
    // Longer than the queue's shutdown grace, so running jobs can finish.
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 25);
    let c = container(&objects);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert!(c["resources"]["requests"]["cpu"].is_string());
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());

    // The PodDisruptionBudget and the Service select the Deployment's pods.
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
        *labels
    );
    assert!(objects["PodDisruptionBudget"]["spec"]["maxUnavailable"].is_u64());
    assert_eq!(objects["Service"]["spec"]["selector"], *labels);

    // Secrets come from the Secret, by keys that it has; the database is PostgreSQL.
    let secret = &objects["Secret"]["stringData"];
    let mut from_secret = BTreeMap::new();
    for e in c["env"].as_array().unwrap() {
        let key_ref = &e["valueFrom"]["secretKeyRef"];
        assert_eq!(key_ref["name"], objects["Secret"]["metadata"]["name"]);
        let key = key_ref["key"].as_str().unwrap();
        assert!(secret[key].is_string(), "the Secret has no {key}");
        from_secret.insert(e["name"].as_str().unwrap().to_string(), key.to_string());
    }
    for var in ["FOLIO_WEBHOOK_SECRET", "FOLIO_APP_ID", "FOLIO_DATABASE_URL"] {
        assert!(
            from_secret.contains_key(var),
            "{var} is not read from the Secret"
        );
    }
    assert!(
        secret[from_secret["FOLIO_DATABASE_URL"].as_str()]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    // The private key is a file mounted from the Secret, where FOLIO_PRIVATE_KEY_PATH says.
    let key_path = objects["ConfigMap"]["data"]["FOLIO_PRIVATE_KEY_PATH"]
        .as_str()
        .unwrap();
    let volume = &pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"].is_string())
        .expect("a volume from the Secret")["secret"];
    let item = &volume["items"][0];
    assert!(secret[item["key"].as_str().unwrap()].is_string());
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["readOnly"] == true)
        .unwrap()["mountPath"]
        .as_str()
        .unwrap();
    assert_eq!(
        format!("{mount}/{}", item["path"].as_str().unwrap()),
        key_path
    );
}

/// `KEY=VALUE` pairs of a Dockerfile's last stage `ENV` lines.
fn dockerfile_final_stage() -> Vec<String> {
    let text = read("Dockerfile");
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(t);
        lines.push(std::mem::take(&mut current));
    }
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    lines[last_from..].to_vec()
}

#[test]
fn dockerfile_runtime_stage_is_non_root_and_probes_itself() {
    let stage = dockerfile_final_stage();
    let user = stage
        .iter()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("USER in the runtime stage");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "0" && uid != "root", "runs as {user}");
    let check = stage
        .iter()
        .find_map(|l| l.strip_prefix("HEALTHCHECK "))
        .expect("HEALTHCHECK");
    assert!(check.contains("\"healthcheck\""), "{check}");
    // The subcommand the HEALTHCHECK runs exists.
    folio::cli::Cli::try_parse_from(["folio", "healthcheck"]).unwrap();
    let exposed: Vec<&str> = stage
        .iter()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(str::split_whitespace)
        .collect();
    let env = dockerfile_env();
    for var in ["FOLIO_LISTEN", "FOLIO_ADMIN_LISTEN"] {
        let port = env[var].rsplit(':').next().unwrap();
        assert!(
            exposed.contains(&port),
            "{var}={} vs EXPOSE {exposed:?}",
            env[var]
        );
    }
    assert!(env["FOLIO_DATABASE_URL"].starts_with("sqlite://"));
}

fn dockerfile_env() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for l in dockerfile_final_stage() {
        if let Some(rest) = l.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=').expect("ENV KEY=VALUE");
                env.insert(k.to_string(), v.to_string());
            }
        }
    }
    env
}

fn systemd_unit() -> Vec<(String, String)> {
    read("systemd/folio.service")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn systemd_env() -> BTreeMap<String, String> {
    systemd_unit()
        .into_iter()
        .filter(|(k, _)| k == "Environment")
        .map(|(_, v)| {
            let (k, v) = v.split_once('=').expect("Environment=KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn systemd_unit_is_hardened_and_uses_sqlite() {
    let unit = systemd_unit();
    let get = |key: &str| unit.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(get("ExecStart"), Some("/usr/local/bin/folio serve"));
    assert_eq!(get("DynamicUser"), Some("yes"));
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("UMask", "0077"),
    ] {
        assert_eq!(get(key), Some(value), "{key}");
    }
    assert!(get("TimeoutStopSec").unwrap().parse::<u64>().unwrap() > 25);
    let env = systemd_env();
    // SQLite and the stored credentials live in the one writable directory.
    let state_dir = format!("/var/lib/{}", get("StateDirectory").unwrap());
    assert_eq!(
        env["FOLIO_DATABASE_URL"],
        format!("sqlite://{state_dir}/folio.db")
    );
    assert!(env["FOLIO_CREDENTIALS_PATH"].starts_with(&state_dir));
    // Only a reverse proxy on this host reaches the public port; the admin port is for a
    // Prometheus on this host.
    assert!(env["FOLIO_LISTEN"].starts_with("127.0.0.1:"));
    assert!(env["FOLIO_ADMIN_LISTEN"].starts_with("127.0.0.1:"));
}

#[test]
fn variable_names_are_folios_and_values_load() {
    // The config module, all its files.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let mut config_rs = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        config_rs.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    for var in SPEC_VARIABLES {
        assert!(
            config_rs.contains(&format!("\"{var}\"")),
            "src/config/ does not read {var}"
        );
    }

    let objects = k8s();
    let mut names: Vec<String> = Vec::new();
    let configmap: BTreeMap<String, String> =
        serde_json::from_value(objects["ConfigMap"]["data"].clone()).unwrap();
    names.extend(configmap.keys().cloned());
    for e in container(&objects)["env"].as_array().unwrap() {
        names.push(e["name"].as_str().unwrap().to_string());
    }
    let docker = dockerfile_env();
    let systemd = systemd_env();
    names.extend(docker.keys().cloned());
    names.extend(systemd.keys().cloned());
    for name in &names {
        assert!(
            SPEC_VARIABLES.contains(&name.as_str()),
            "{name} is not a setting of SPEC §4"
        );
    }

    // The values themselves are valid settings. The key file only exists in the pod.
    for (source, mut env) in [
        ("k8s ConfigMap", configmap),
        ("Dockerfile", docker),
        ("systemd unit", systemd),
    ] {
        env.remove("FOLIO_PRIVATE_KEY_PATH");
        let env = env.into_iter().collect();
        let s = folio::config::Settings::load_from(None, &env)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        assert!(s.app.is_none(), "{source}");
    }
}
