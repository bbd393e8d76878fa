//! The gate in front of every route ([`gate`]), the login and logout forms ([`routes`]) and the
//! audit log's writes.
//!
//! For each request: an [`Area::Open`] path (the probes' API, health, `/metrics`, the font, the
//! forms) passes untouched. Otherwise, while no account exists, the request is served as before
//! and an HTML answer gets the "未启用登录" banner. Once one exists the request needs an account
//! (a session cookie, or the trusted proxy's header from a trusted address), or for the fleet
//! the `[server] read_token`, which machines keep using. No account: a page is sent to
//! `/login`, an API answers 401. Then [`scope::decide`]: 403 (a page in Chinese, or JSON for the
//! API), an operator's page redirected to its own carrier, or served, with a bar naming the
//! account and a logout button. Every answer to an account is written to the audit log.

use super::pages;
use super::ratelimit::{Key, LoginLimiter};
use super::scope::{self, Account, Area, Decision};
use super::{AccessSettings, LOGIN_PATH, LOGOUT_PATH, csrf, password, session};
use crate::config::CollectorConfig;
use crate::http::{Peer, TcpPeer};
use crate::store::{AuditRow, Store};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What the gate and the forms share.
#[derive(Debug, Clone)]
pub struct AccessState {
    store: Store,
    settings: Arc<AccessSettings>,
    /// The county a request without `county=` is about: the only one of a one-county
    /// deployment; `None` in a province (the province as a whole).
    county_id: Option<Arc<str>>,
    /// Each site's county: a site page is about its site's county.
    site_county: Arc<std::collections::HashMap<String, String>>,
    county_name: Arc<str>,
    read_token: Option<Arc<str>>,
    /// Cookies are `Secure`: the collector serves HTTPS, or `[access] secure_cookies`.
    secure: bool,
    limiter: Arc<Mutex<LoginLimiter>>,
}

impl AccessState {
    /// The gate of `serve` over `store`; `https` when the collector serves TLS itself.
    pub fn new(store: Store, config: &CollectorConfig, https: bool) -> Self {
        Self {
            store,
            secure: https || config.access.secure_cookies,
            settings: Arc::new(config.access.clone()),
            county_id: (!config.is_province()).then(|| config.county_id.as_str().into()),
            site_county: Arc::new(
                config
                    .counties
                    .iter()
                    .flat_map(|c| c.sites.iter().map(|s| (s.id.to_string(), c.id.clone())))
                    .collect(),
            ),
            county_name: config.county_name.as_str().into(),
            read_token: config.read_token.as_deref().map(Into::into),
            limiter: Arc::new(Mutex::new(LoginLimiter::new())),
        }
    }

    async fn audit(&self, account: &str, action: &str, target: &str, source: &str, outcome: &str) {
        let row = AuditRow {
            at_ms: chrono::Utc::now().timestamp_millis(),
            account: account.chars().take(64).collect(),
            action: action.to_owned(),
            target: target.chars().take(300).collect(),
            source: source.to_owned(),
            outcome: outcome.to_owned(),
        };
        if let Err(e) = self.store.audit(&row).await {
            // The page is served all the same; a lost line is logged where the operator looks.
            tracing::error!(error = %e, account, action, target, "Cannot write the audit log.");
        }
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, LoginLimiter> {
        self.limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The account a request was let through for: the read-token check of the fleet routes lets
/// it pass too.
#[derive(Debug, Clone)]
pub struct Viewer(pub Arc<Account>);

/// How a request proved who it is.
struct Identified {
    account: Account,
    /// The session's CSRF token; `None` for the proxy's header (the proxy logs out).
    csrf: Option<String>,
}

/// The client address (the forwarded client's behind `[server] trusted_proxies`).
fn client(request_extensions: &axum::http::Extensions) -> Option<IpAddr> {
    request_extensions
        .get::<axum::extract::ConnectInfo<Peer>>()
        .map(|c| c.0.0.ip())
}

fn source_text(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

fn path_and_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string)
}

/// The `carrier=` a query names, if any.
fn carrier_param(query: Option<&str>) -> Option<String> {
    param(query, "carrier")
}

/// The query's non-empty `name=`.
fn param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
}

/// `uri` with `name=` set to `value`.
fn with_param(uri: &axum::http::Uri, name: &str, value: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        if k != name {
            q.append_pair(&k, &v);
        }
    }
    q.append_pair(name, value);
    format!("{}?{}", uri.path(), q.finish())
}

impl AccessState {
    /// The county a request is about: its `county=`, else the county of the site its path
    /// names, else the deployment's only county; `None` for the province as a whole.
    fn request_county(&self, uri: &axum::http::Uri) -> Option<String> {
        if let Some(c) = param(uri.query(), "county") {
            return Some(c);
        }
        let site = uri
            .path()
            .strip_prefix("/site/")
            .map(|rest| rest.split('/').next().unwrap_or(rest));
        if let Some(county) = site.and_then(|id| self.site_county.get(id)) {
            return Some(county.clone());
        }
        self.county_id.as_deref().map(str::to_owned)
    }
}

/// Where an account starts: the page its role may see.
fn home(account: &Account) -> &'static str {
    match account.role {
        scope::Role::Technician => crate::dashboard::FLEET_PAGE,
        _ => "/",
    }
}

/// The gate (see the module's doc).
pub async fn gate(State(state): State<AccessState>, request: Request, next: Next) -> Response {
    let area = scope::area(request.uri().path());
    if area == Area::Open {
        return next.run(request).await;
    }
    let accounts = match state.store.account_count().await {
        Ok(n) => n,
        Err(e) => return crate::http::ApiError::from(e).into_response(),
    };
    if accounts == 0 {
        let response = next.run(request).await;
        return pages::inject(response, pages::OPEN_BANNER).await;
    }
    let source = client(request.extensions());
    let target = path_and_query(request.uri());
    let is_api = request.uri().path().starts_with("/api/");
    let who = match identify(&state, request.headers(), request.extensions()).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let Some(who) = who else {
        // Machines read the fleet with the read token, as before accounts.
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if area == Area::Fleet
            && state
                .read_token
                .as_deref()
                .is_some_and(|t| crate::http::access::carries_token(t, authorization))
        {
            return next.run(request).await;
        }
        if is_api {
            return json_error(
                StatusCode::UNAUTHORIZED,
                "login required: sign in at /login, or send the read token (Authorization: Bearer …) for the fleet",
            );
        }
        let to = format!(
            "{LOGIN_PATH}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &target)
                .finish()
        );
        return Redirect::to(&to).into_response();
    };
    let account = who.account;
    let action = match (&area, is_api) {
        (_, true) => "api",
        (Area::Export(_), _) => "export",
        _ => "view",
    };
    let src = source_text(source);
    let county = state.request_county(request.uri());
    match scope::decide(
        &account,
        county.as_deref(),
        &area,
        carrier_param(request.uri().query()).as_deref(),
    ) {
        Decision::Deny => {
            state
                .audit(&account.name, action, &target, &src, "denied")
                .await;
            if is_api {
                return json_error(StatusCode::FORBIDDEN, "this account may not read this");
            }
            return pages::forbidden(&account.name, account.role.name_zh(), home(&account));
        }
        Decision::AsCarrier(k) => {
            return Redirect::temporary(&with_param(request.uri(), "carrier", k.id()))
                .into_response();
        }
        Decision::AsCounty(c) => {
            return Redirect::temporary(&with_param(request.uri(), "county", &c)).into_response();
        }
        Decision::Allow => {}
    }
    let bar = pages::account_bar(&account.name, account.role.name_zh(), who.csrf.as_deref());
    let name = account.name.clone();
    let mut request = request;
    request.extensions_mut().insert(Viewer(Arc::new(account)));
    let response = next.run(request).await;
    state
        .audit(&name, action, &target, &src, response.status().as_str())
        .await;
    pages::inject(response, &bar).await
}

/// The account a request comes from: the trusted proxy's header (from a trusted address only),
/// else the session cookie. `Err` for a proxy naming no account.
async fn identify(
    state: &AccessState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<Option<Identified>, Response> {
    if let Some(name) = proxy_user(&state.settings, headers, extensions) {
        let row = state
            .store
            .account(&name)
            .await
            .map_err(|e| crate::http::ApiError::from(e).into_response())?;
        let Some(account) = row.as_ref().and_then(super::account_of) else {
            tracing::warn!(user = %name, "The proxy named a user without an account here.");
            return Err(pages::refused(
                StatusCode::FORBIDDEN,
                &format!("代理服务器报告的用户 {name} 在本系统中没有账号，请联系系统管理员。"),
            ));
        };
        return Ok(Some(Identified {
            account,
            csrf: None,
        }));
    }
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let Some(id) = session::cookie(cookies, session::COOKIE) else {
        return Ok(None);
    };
    let now = chrono::Utc::now().timestamp_millis();
    let found = state
        .store
        .session(&session::id_hash(id), now)
        .await
        .map_err(|e| crate::http::ApiError::from(e).into_response())?;
    let Some(s) = found else {
        return Ok(None);
    };
    let row = state
        .store
        .account(&s.account)
        .await
        .map_err(|e| crate::http::ApiError::from(e).into_response())?;
    Ok(row
        .as_ref()
        .and_then(super::account_of)
        .map(|account| Identified {
            account,
            csrf: Some(s.csrf),
        }))
}

/// The user the trusted proxy names, when the header is switched on and the TCP peer is one of
/// `[access] trusted_proxies`; from anyone else the header is ignored.
fn proxy_user(
    settings: &AccessSettings,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<String> {
    let header_name = settings.trusted_user_header.as_ref()?;
    let peer = extensions.get::<TcpPeer>()?.0.ip();
    if !settings.trusted_proxies.iter().any(|c| c.contains(peer)) {
        return None;
    }
    let name = headers.get(header_name)?.to_str().ok()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// `/login` (the form and its POST) and `/logout`.
pub fn routes(state: AccessState) -> Router {
    Router::new()
        .route(LOGIN_PATH, get(login_form).post(login))
        .route(LOGOUT_PATH, axum::routing::post(logout))
        .with_state(state)
}

/// A `next` that stays on this collector: a path, not `//host` nor a URL.
fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?;
    (n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains('\r'))
        .then(|| n.to_owned())
}

async fn login_form(State(state): State<AccessState>, uri: axum::http::Uri) -> Response {
    let next = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    form_page(
        &state,
        StatusCode::OK,
        safe_next(next.as_deref()).as_deref(),
        None,
    )
}

/// The login page with a fresh double-submit token in its form and its cookie.
fn form_page(
    state: &AccessState,
    status: StatusCode,
    next: Option<&str>,
    error: Option<&str>,
) -> Response {
    let token = session::random_token();
    let page = pages::login(&state.county_name, next.unwrap_or("/"), &token, error);
    let cookie = session::set_cookie(
        session::LOGIN_COOKIE,
        &token,
        std::time::Duration::from_secs(3600),
        state.secure,
    );
    (
        status,
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Html(page),
    )
        .into_response()
}

fn form_fields(body: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Whether a POST comes from this collector's own page (see `csrf.rs`).
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    csrf::same_origin(get(header::ORIGIN), get(header::REFERER), get(header::HOST))
}

async fn login(
    State(state): State<AccessState>,
    peer: crate::http::PeerInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source = peer.map(|axum::Extension(axum::extract::ConnectInfo(Peer(a)))| a.ip());
    let src = source_text(source);
    let fields = form_fields(&body);
    let field = |k: &str| fields.get(k).map(String::as_str);
    let name = field("name").unwrap_or_default().trim().to_owned();
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let expected = session::cookie(cookies, session::LOGIN_COOKIE).unwrap_or_default();
    if !same_origin(&headers) || !csrf::token_matches(expected, field("csrf")) {
        state
            .audit(&name, "login", LOGIN_PATH, &src, "csrf refused")
            .await;
        return pages::refused(
            StatusCode::FORBIDDEN,
            "登录表单已失效或不是从本系统的页面提交的，请回到登录页重新登录。",
        );
    }
    let next = safe_next(field("next"));
    let mut keys = vec![Key::Account(name.clone())];
    if let Some(ip) = source {
        keys.push(Key::Source(crate::limits::source_key(ip)));
    }
    let now = std::time::Instant::now();
    // The guard is dropped at the end of this statement, before any await.
    let limited = state.limiter().check(&keys, now);
    if let Err(wait) = limited {
        state
            .audit(&name, "login", LOGIN_PATH, &src, "rate limited")
            .await;
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let mut response = pages::refused(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("登录尝试次数过多，请 {minutes} 分钟后再试。"),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    let row = match state.store.account(&name).await {
        Ok(row) => row,
        Err(e) => return crate::http::ApiError::from(e).into_response(),
    };
    let offered = field("password").unwrap_or_default().to_owned();
    let phc = row
        .as_ref()
        .map_or_else(|| password::decoy().to_owned(), |r| r.password_phc.clone());
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let good = tokio::task::spawn_blocking(move || password::verify(&offered, &phc))
        .await
        .unwrap_or(false);
    let account = row.as_ref().and_then(super::account_of);
    let (true, Some(account)) = (good, account) else {
        state.limiter().failed(&keys, now);
        state
            .audit(&name, "login", LOGIN_PATH, &src, "bad password")
            .await;
        return form_page(
            &state,
            StatusCode::UNAUTHORIZED,
            next.as_deref(),
            Some("用户名或密码不正确。"),
        );
    };
    state.limiter().succeeded(&keys);
    start_session(&state, &account, next, &src).await
}

/// A session for `account`, just logged in: its cookie, and the page it asked for.
async fn start_session(
    state: &AccessState,
    account: &Account,
    next: Option<String>,
    src: &str,
) -> Response {
    let id = session::random_token();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let lifetime = session::LIFETIME;
    if let Err(e) = state
        .store
        .add_session(
            &session::id_hash(&id),
            &account.name,
            &session::random_token(),
            now_ms,
            now_ms + i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX),
        )
        .await
    {
        return crate::http::ApiError::from(e).into_response();
    }
    state
        .audit(&account.name, "login", LOGIN_PATH, src, "ok")
        .await;
    tracing::info!(account = %account.name, source = %src, "Logged in.");
    let to = next.unwrap_or_else(|| home(account).to_owned());
    let mut response = Redirect::to(&to).into_response();
    let h = response.headers_mut();
    for cookie in [
        session::set_cookie(session::COOKIE, &id, lifetime, state.secure),
        session::set_cookie(
            session::LOGIN_COOKIE,
            "",
            std::time::Duration::ZERO,
            state.secure,
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    response
}

async fn logout(
    State(state): State<AccessState>,
    peer: crate::http::PeerInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source = peer.map(|axum::Extension(axum::extract::ConnectInfo(Peer(a)))| a.ip());
    let src = source_text(source);
    let fields = form_fields(&body);
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let Some(id) = session::cookie(cookies, session::COOKIE) else {
        return Redirect::to(LOGIN_PATH).into_response();
    };
    let hash = session::id_hash(id);
    let now = chrono::Utc::now().timestamp_millis();
    let found = match state.store.session(&hash, now).await {
        Ok(s) => s,
        Err(e) => return crate::http::ApiError::from(e).into_response(),
    };
    let Some(s) = found else {
        return Redirect::to(LOGIN_PATH).into_response();
    };
    if !same_origin(&headers)
        || !csrf::token_matches(&s.csrf, fields.get("csrf").map(String::as_str))
    {
        state
            .audit(&s.account, "logout", LOGOUT_PATH, &src, "csrf refused")
            .await;
        return pages::refused(
            StatusCode::FORBIDDEN,
            "退出请求不是从本系统的页面提交的，未执行。",
        );
    }
    if let Err(e) = state.store.end_session(&hash).await {
        return crate::http::ApiError::from(e).into_response();
    }
    state
        .audit(&s.account, "logout", LOGOUT_PATH, &src, "ok")
        .await;
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        session::COOKIE,
        "",
        std::time::Duration::ZERO,
        state.secure,
    )) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_is_sent_to_its_carrier_keeping_the_rest_of_the_query() {
        let uri: axum::http::Uri = "/site/a?week=2026-W48&carrier=&lang=en".parse().unwrap();
        assert_eq!(
            with_param(&uri, "carrier", "cmcc"),
            "/site/a?week=2026-W48&lang=en&carrier=cmcc"
        );
        assert_eq!(
            carrier_param(Some("week=1&carrier=cu")),
            Some("cu".to_owned())
        );
        assert_eq!(carrier_param(Some("carrier=")), None);
    }

    #[test]
    fn next_stays_on_this_collector() {
        assert_eq!(safe_next(Some("/fleet?x=1")), Some("/fleet?x=1".to_owned()));
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "fleet",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }
}
