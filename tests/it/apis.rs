//! Permissions on several APIs, over real HTTP against the fake: one token per required API in each
//! check (Microsoft Graph, the Defender XDR API, Defender for Endpoint), Graph's tokens read by their
//! claims and proven by their probe, the probe off, older resource URIs, the tenant page's matrix, the
//! `apis` of the JSON API, and `serve` refusing a permission it does not know.

use crate::helpers::*;
use consent_portal::config::Config;
use consent_portal::domain::{Api, TenantId, Timestamp};
use consent_portal::entra::{EntraClient, VerifyError};
use consent_portal::monitor::sweep::Target;
use fake_entra::demo::{DEMO_CLIENT_ID, DEMO_CONTOSO};
use reqwest::StatusCode;
use serde_json::{Value, json};

const EVERY_API: &str = "graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All,\
                         mde:Alert.Read.All,mde:Machine.Read.All";

async fn grant(app: &TestApp, tenant: &str, permissions: Value) {
    let url = app.fake_url(&format!("/_fake/tenants/{tenant}/grants/{DEMO_CLIENT_ID}"));
    let response = app.client.put(url).json(&json!({ "permissions": permissions })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// Records Contoso, consented a day ago, and checks it once through the sweeper of the running portal.
async fn check_contoso(app: &TestApp) -> consent_portal::monitor::check::CheckOutcome {
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let consented = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    consent_portal::db::monitoring::seed_tenants(&app.state.db, "Contoso", &[tenant], Timestamp::new(consented)).await.unwrap();
    app.state.sweeper.check_now(Target::new(tenant, Some(consented))).await.unwrap()
}

fn paths_in_log(log: &Value) -> Vec<String> {
    log.as_array().unwrap().iter().filter_map(|e| e["path"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn each_required_api_gets_its_own_token_checked_and_probed() {
    let app = spawn_app_configured(|config| require_permissions(config, EVERY_API)).await;
    let every = json!({"graph": ["SecurityIncident.Read.All", "ThreatHunting.Read.All"], "defender": ["Incident.Read.All"],
                       "mde": ["Alert.Read.All", "Machine.Read.All"]});
    grant(&app, DEMO_CONTOSO, every).await;
    let outcome = check_contoso(&app).await;
    assert_eq!(outcome.status.as_str(), "verified", "{}", outcome.reason);
    let apis: Vec<(Api, &str, Option<u16>, &str)> = outcome
        .apis
        .iter()
        .map(|a| {
            (
                a.api,
                a.status.as_str(),
                a.probe_status,
                if a.verification == consent_portal::domain::Verification::Claims { "claims" } else { "signature" },
            )
        })
        .collect();
    assert_eq!(
        apis,
        [
            (Api::Graph, "verified", Some(200), "claims"),
            (Api::Defender, "verified", Some(200), "signature"),
            (Api::Mde, "verified", Some(200), "signature")
        ]
    );
    // Each token is for its API's resource, with that API's roles only.
    for api in &outcome.apis {
        let claims = api.token_claims.as_ref().unwrap();
        assert_eq!(claims["aud"], api.api.resource(consent_portal::domain::Cloud::Global).unwrap(), "{claims}");
        assert_eq!(claims["roles"].as_array().unwrap().len(), api.roles_present.len(), "{claims}");
    }
    assert_eq!(token_requests(&app.fake.url, DEMO_CONTOSO).await.len(), 3, "one token per API");
    let log: Value = app.client.get(app.fake_url("/_fake/log")).send().await.unwrap().json().await.unwrap();
    let paths = paths_in_log(&log);
    for probe in ["/v1.0/security/incidents", "/api/incidents", "/api/alerts"] {
        assert!(paths.iter().any(|p| p == probe), "{probe} probed: {paths:?}");
    }
}

#[tokio::test]
async fn a_tenant_missing_only_a_graph_role_is_missing_that_role_and_the_page_shows_the_matrix() {
    let app = spawn_app().await;
    // Granted before the app asked for Graph's hunting permission: everything but that.
    grant(
        &app,
        DEMO_CONTOSO,
        json!({"graph": ["SecurityIncident.Read.All"], "defender": ["Incident.Read.All", "AdvancedHunting.Read.All"]}),
    )
    .await;
    let outcome = check_contoso(&app).await;
    assert_eq!(outcome.status.as_str(), "missing_roles", "{}", outcome.reason);
    assert_eq!(outcome.roles_missing, ["graph:ThreatHunting.Read.All"]);
    assert_eq!(
        outcome.roles_present,
        ["graph:SecurityIncident.Read.All", "defender:Incident.Read.All", "defender:AdvancedHunting.Read.All"]
    );
    let statuses: Vec<&str> = outcome.apis.iter().map(|a| a.status.as_str()).collect();
    assert_eq!(statuses, ["missing_roles", "verified"]);

    let (client, _) = staff(&app, SAM).await;
    let page = client.get(app.url(&format!("/tenants/{DEMO_CONTOSO}"))).send().await.unwrap().text().await.unwrap();
    let matrix = &page[page.find("id=\"api-matrix\"").unwrap()..];
    let graph_row = &matrix[matrix.find("id=\"api-graph\"").unwrap()..matrix.find("id=\"api-defender\"").unwrap()];
    assert!(graph_row.contains("data-role=\"ThreatHunting.Read.All\" data-present=\"no\""), "{graph_row}");
    assert!(graph_row.contains("data-role=\"SecurityIncident.Read.All\" data-present=\"yes\""), "{graph_row}");
    assert!(graph_row.contains("claims only"), "{graph_row}");
    let defender_row = &matrix[matrix.find("id=\"api-defender\"").unwrap()..];
    assert!(defender_row.contains("data-role=\"AdvancedHunting.Read.All\" data-present=\"yes\""));
    assert!(defender_row[..defender_row.find("</tr>").unwrap()].contains("signature"));
    // Each API's decoded token, and never a raw one.
    assert!(page.contains("id=\"token-graph\"") && page.contains("id=\"token-defender\""));
    assert!(page.contains("https://graph.microsoft.com"));
    assert!(!page.contains("eyJ"), "never a raw token");
    // The list names the missing permission with its API.
    let list = client.get(app.url("/tenants")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("graph:ThreatHunting.Read.All"), "{list}");
}

#[tokio::test]
async fn a_graph_token_fails_signature_verification_yet_its_probe_proves_it() {
    let app = spawn_app().await;
    grant(&app, DEMO_CONTOSO, demo_grant()["permissions"].clone()).await;
    let entra = EntraClient::new(&app.state.config).unwrap();
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let graph = entra.app_only_token(tenant, "https://graph.microsoft.com").await.unwrap();
    // Signed over a hashed nonce, as Microsoft signs Graph's tokens: no client can check it.
    let refused = entra.verify_access_token(&graph.raw, Some(tenant), Api::Graph, "https://graph.microsoft.com").await.unwrap_err();
    assert_eq!(refused, VerifyError::NotVerifiable);
    let claims = entra.read_claims_of_unverifiable_token(&graph.raw, tenant, Api::Graph, "https://graph.microsoft.com").unwrap();
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    // Claims of another tenant, or for another API, are refused even unverified.
    let other = TenantId::new_random();
    assert_eq!(
        entra.read_claims_of_unverifiable_token(&graph.raw, other, Api::Graph, "https://graph.microsoft.com").unwrap_err(),
        VerifyError::Tenant
    );
    assert_eq!(
        entra.read_claims_of_unverifiable_token(&graph.raw, tenant, Api::Defender, "https://api.security.microsoft.com").unwrap_err(),
        VerifyError::Audience
    );

    let outcome = check_contoso(&app).await;
    assert_eq!(outcome.status.as_str(), "verified", "{}", outcome.reason);
    let graph = &outcome.apis[0];
    assert_eq!((graph.api, graph.probe_status), (Api::Graph, Some(200)));
    assert!(graph.token_header.as_ref().unwrap().get("nonce").is_some(), "a Graph token carries a nonce header");

    // When Graph refuses the token, the claims count for nothing.
    let faults = app.fake_url(&format!("/_fake/tenants/{DEMO_CONTOSO}/faults"));
    assert_eq!(app.client.put(&faults).json(&json!({"api_status": 401})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let refused = app.state.sweeper.check_now(Target::new(tenant, None)).await.unwrap();
    assert_eq!(refused.apis[0].status.as_str(), "token_invalid");
    assert_eq!(refused.status.as_str(), "token_invalid");
}

#[tokio::test]
async fn with_the_probe_off_a_graph_token_is_roles_read_not_proven_never_verified() {
    let app = spawn_app_configured(|config| config.checks.api_probe = false).await;
    grant(&app, DEMO_CONTOSO, demo_grant()["permissions"].clone()).await;
    let outcome = check_contoso(&app).await;
    let statuses: Vec<(&str, Option<u16>)> = outcome.apis.iter().map(|a| (a.status.as_str(), a.probe_status)).collect();
    assert_eq!(statuses, [("unproven", None), ("verified", None)], "Graph unproven, Defender verified by signature");
    assert_eq!(outcome.status.as_str(), "unproven");
    assert!(outcome.reason.contains("not proven"), "{}", outcome.reason);
    let (client, _) = staff(&app, SAM).await;
    let page = client.get(app.url(&format!("/tenants/{DEMO_CONTOSO}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("roles read, not proven"), "{page}");
}

#[tokio::test]
async fn an_older_resource_uri_is_asked_for_and_expected_back_exactly() {
    let configure = |config: &mut Config| {
        config.required = vec![consent_portal::domain::RequiredApi {
            api: Api::Mde,
            resource: "https://securitycenter.onmicrosoft.com/windowsatpservice".into(),
            roles: vec![consent_portal::domain::RoleName::parse("Alert.Read.All").unwrap()],
        }];
    };
    let app = spawn_app_configured(configure).await;
    grant(&app, DEMO_CONTOSO, json!({"mde": ["Alert.Read.All"]})).await;
    let outcome = check_contoso(&app).await;
    assert_eq!(outcome.status.as_str(), "verified", "{}", outcome.reason);
    assert_eq!(outcome.apis[0].token_claims.as_ref().unwrap()["aud"], "https://securitycenter.onmicrosoft.com/windowsatpservice");

    // The audience compares exactly: the same token is not one for the URI with a trailing slash, nor
    // for the API's newer URI; the API's app id (v2 tokens carry it) is accepted.
    let entra = EntraClient::new(&app.state.config).unwrap();
    let tenant = TenantId::parse(DEMO_CONTOSO).unwrap();
    let token = entra.app_only_token(tenant, "https://securitycenter.onmicrosoft.com/windowsatpservice").await.unwrap();
    for wrong in ["https://securitycenter.onmicrosoft.com/windowsatpservice/", "https://api.securitycenter.microsoft.com"] {
        assert_eq!(
            entra.verify_access_token(&token.raw, Some(tenant), Api::Mde, wrong).await.unwrap_err(),
            VerifyError::Audience,
            "{wrong}"
        );
    }
    let by_app_id = entra.app_only_token(tenant, Api::Mde.app_id()).await.unwrap();
    entra.verify_access_token(&by_app_id.raw, Some(tenant), Api::Mde, "https://api.securitycenter.microsoft.com").await.unwrap();
}

#[tokio::test]
async fn the_api_and_tenants_list_give_each_apis_part() {
    let app = spawn_app_configured(|config| config.api_token = Some(consent_portal::domain::Secret::new(API_TOKEN))).await;
    grant(
        &app,
        DEMO_CONTOSO,
        json!({"graph": ["SecurityIncident.Read.All"], "defender": ["Incident.Read.All", "AdvancedHunting.Read.All"]}),
    )
    .await;
    check_contoso(&app).await;
    let tenants: Value = app.client.get(app.url("/api/v1/tenants")).bearer_auth(API_TOKEN).send().await.unwrap().json().await.unwrap();
    let contoso = &tenants.as_array().unwrap()[0];
    assert_eq!(contoso["roles_missing"], json!(["graph:ThreatHunting.Read.All"]));
    assert_eq!(
        contoso["apis"],
        json!([
            {"api": "graph", "status": "missing_roles", "roles_present": ["SecurityIncident.Read.All"],
             "roles_missing": ["ThreatHunting.Read.All"], "probe_status": 200, "verification": "claims"},
            {"api": "defender", "status": "verified", "roles_present": ["Incident.Read.All", "AdvancedHunting.Read.All"],
             "roles_missing": [], "probe_status": 200, "verification": "signature"},
        ])
    );
    // The CSV: a column per required permission.
    let (client, _) = staff(&app, SAM).await;
    let csv = client.get(app.url("/tenants.csv")).send().await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(
        ",graph:SecurityIncident.Read.All,graph:ThreatHunting.Read.All,defender:Incident.Read.All,defender:AdvancedHunting.Read.All"
    ));
    assert!(lines[1].ends_with(",present,missing,present,present"), "{}", lines[1]);
}

#[test]
fn serve_refuses_a_permission_it_does_not_know_with_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("PORTAL_REQUIRED_PERMISSIONS", "intune:DeviceManagement.Read.All")], "unknown API \"intune\""),
        (&[("PORTAL_REQUIRED_PERMISSIONS", "graph:Incident.Read.All")], "defines no role \"Incident.Read.All\""),
        (&[("PORTAL_REQUIRED_PERMISSIONS", "SecurityIncident.Read.All")], "is not api:Role"),
        (
            &[("PORTAL_REQUIRED_PERMISSIONS", "graph:ThreatHunting.Read.All"), ("PORTAL_REQUIRED_ROLES", "Incident.Read.All")],
            "use one form",
        ),
        (&[("PORTAL_RESOURCE", "https://management.azure.com")], "PORTAL_RESOURCE"),
        (&[("PORTAL_REQUIRED_ROLES", "Incidents.Read.All")], "PORTAL_REQUIRED_ROLES"),
    ];
    for (variables, expected) in cases {
        let mut command = command_in(dir.path());
        command.arg("serve").envs(serve_env(dir.path(), 9));
        command.envs(variables.iter().copied());
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{variables:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expected), "{variables:?}: {stderr}");
    }
}
