//! What a person sees of the gate: the login page, the "无权查看" page, the banner of a
//! collector without accounts and the bar naming who is logged in. In the dashboard's style
//! (`report::html::shell`), Chinese, no script, down to a phone's width.

use crate::dashboard::font;
use crate::report::html::{self, esc};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The banner of every page while no account exists.
pub(super) const OPEN_BANNER: &str = "<p id=access-open class=banner role=alert>未启用登录：能访问此端口的任何人都可查看。用 <code>fathom-collector user add</code> 创建管理员账号。</p>";

/// Styles of the login form and the account bar (the page CSS has none for forms this wide).
const STYLE: &str = "<style>.login{max-width:22em;margin:3em auto}.login label{display:block;margin:.8em 0}\
.login input{width:100%;box-sizing:border-box;font-size:110%;padding:.45em}\
.login button{width:100%;font-size:110%;padding:.55em;margin-top:.6em}\
#access-bar{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;justify-content:flex-end;font-size:90%;color:#444;border-bottom:1px solid #ddd;padding:.3em 0;margin-bottom:.6em}\
#access-bar form{margin:0}#access-bar button{font-size:100%}</style>";

/// The login page: `error` above the form when the last try failed.
pub(super) fn login(county: &str, next: &str, csrf: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p id=login-error class=banner role=alert>{}</p>", esc(e))
    });
    let body = format!(
        "{STYLE}<main class=login><h1>{} 移动网络监测</h1><p class=note>请登录后查看本县指标、报表和探针状态。</p>{error}\
<form method=post action=\"{}\"><input type=hidden name=csrf value=\"{}\"><input type=hidden name=next value=\"{}\">\
<label>用户名<input name=name autocomplete=username required autofocus></label>\
<label>密码<input type=password name=password autocomplete=current-password required></label>\
<button type=submit>登录</button></form>\
<p class=note>忘记密码请联系系统管理员重设（<code>fathom-collector user passwd</code>）。连续输错几次后需等待一段时间才能再试。</p></main>",
        esc(county),
        super::LOGIN_PATH,
        esc(csrf),
        esc(next),
    );
    html::shell("登录", &body, Some(&font::url()))
}

/// The 403 page: what the account may not see and where it may go instead.
pub(super) fn forbidden(who: &str, role: &str, home: &str) -> Response {
    let body = format!(
        "<h1>无权查看 <small>403</small></h1><p class=banner role=alert>账号 {}（{}）无权查看此页面或数据。</p>\
<p class=note>各账号只能查看其所属县（区）和职责范围内的内容。如需查看，请联系系统管理员调整账号权限。</p>\
<p><a href=\"{}\">返回可查看的页面</a></p>",
        esc(who),
        esc(role),
        esc(home),
    );
    (
        StatusCode::FORBIDDEN,
        Html(html::shell("无权查看", &body, Some(&font::url()))),
    )
        .into_response()
}

/// A short page for a refused form (bad CSRF token, another site's form, too many tries).
pub(super) fn refused(status: StatusCode, zh: &str) -> Response {
    let body = format!(
        "<h1>无法完成 <small>{}</small></h1><p class=banner role=alert>{}</p><p><a href=\"{}\">返回登录页</a></p>",
        status.as_u16(),
        esc(zh),
        super::LOGIN_PATH,
    );
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(html::shell("无法完成", &body, Some(&font::url()))),
    )
        .into_response()
}

/// The bar at the top of a page seen by a logged-in account: who, and a logout button (a form
/// with the session's CSRF token) when the login is a session of ours.
pub(super) fn account_bar(who: &str, role: &str, csrf: Option<&str>) -> String {
    let logout = csrf.map_or_else(String::new, |t| {
        format!(
            "<form method=post action=\"{}\"><input type=hidden name=csrf value=\"{}\"><button type=submit>退出登录</button></form>",
            super::LOGOUT_PATH,
            esc(t)
        )
    });
    format!(
        "{STYLE}<div id=access-bar><span>已登录：{}（{}）</span>{logout}</div>",
        esc(who),
        esc(role)
    )
}

/// `page` with `fragment` placed right after its `<body…>` tag (at the start when it has none).
pub(super) fn inject_after_body(page: &str, fragment: &str) -> String {
    let at = page
        .find("<body")
        .and_then(|i| page[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let mut out = String::with_capacity(page.len() + fragment.len());
    out.push_str(&page[..at]);
    out.push_str(fragment);
    out.push_str(&page[at..]);
    out
}

/// Pages larger than this are passed on without a banner (none is; a bound all the same).
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// `response` with `fragment` after its `<body>` when it is an HTML page.
pub(super) async fn inject(response: Response, fragment: &str) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "page too large\n").into_response();
    };
    let page = String::from_utf8_lossy(&bytes);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        axum::body::Body::from(inject_after_body(&page, fragment)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fragment_goes_right_after_the_body_tag() {
        assert_eq!(
            inject_after_body("<html><body style=\"x\">page</body>", "[bar]"),
            "<html><body style=\"x\">[bar]page</body>"
        );
        assert_eq!(inject_after_body("no body", "[bar]"), "[bar]no body");
    }

    #[test]
    fn names_are_escaped_on_the_pages() {
        let bar = account_bar("<script>", "运营商", Some("t\"x"));
        assert!(bar.contains("&lt;script&gt;") && !bar.contains("<script>"));
        assert!(!bar.contains("t\"x"));
        let page = login("沂源县", "/?a=\"b\"", "tok", Some("<b>"));
        assert!(page.contains("沂源县 移动网络监测") && !page.contains("<b>"));
    }
}
