//! Who may see what: a pure function of the account, the deployment's county and the request's
//! path and carrier (no I/O, unit-tested below; `gate.rs` applies it).
//!
//! | role | sees |
//! |---|---|
//! | `admin` | everything |
//! | `county` | its county's pages, APIs and exports; nothing of another county |
//! | `operator` | in the counties it is granted: the indicator pages and charts always filtered to its own carrier (every per-site table then holds its carrier's rows only), and of the exports only the county-level tables (`indicators.csv`, `by_carrier.csv`, `i32_websites.csv`) and its own carrier's charts. Other carriers only as the county-level figures per carrier the weekly report publishes, never per site; no fleet |
//! | `technician` | the fleet page, the probe pages and `/api/v1/fleet` of its county |
//!
//! A one-county collector serves its `[county] id`; an account of another county sees nothing
//! there. In a province each request is about one county (its `county=` parameter, or the
//! county of the site its path names) or about the province as a whole (no county: the
//! province overview at `/`, the whole fleet): only the administrator sees the province as a
//! whole; anyone else is sent on to their own county ([`Decision::AsCounty`]).

use fathom_shared::Carrier;
use std::fmt;

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The province's administrator: everything.
    Admin,
    /// A county bureau: its county only.
    County,
    /// A carrier: its own per-site detail in its granted counties, others as aggregates.
    Operator,
    /// A technician: the fleet of its county.
    Technician,
}

impl Role {
    /// Every role, in the order the docs list them.
    pub const ALL: [Role; 4] = [Role::Admin, Role::County, Role::Operator, Role::Technician];

    /// Its name on the command line and in the database.
    pub fn id(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::County => "county",
            Role::Operator => "operator",
            Role::Technician => "technician",
        }
    }

    /// Its name on the pages.
    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Admin => "省级管理员",
            Role::County => "县级主管部门",
            Role::Operator => "运营商",
            Role::Technician => "运维人员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.id() == s)
            .ok_or_else(|| format!("unknown role {s:?}: use admin, county, operator or technician"))
    }
}

/// An account as the gate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its login name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its county (county, technician) or the counties it is granted (operator).
    pub counties: Vec<String>,
    /// Its carrier (operator).
    pub carrier: Option<Carrier>,
}

/// What part of the collector a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// Not gated by accounts: the probes' API (upload, enrollment, speed test, with their own
    /// tokens), health, the OpenAPI description, `/metrics` (behind `[server] read_token`), the
    /// font, the login and logout forms.
    Open,
    /// The indicator pages and charts: `/`, `/map`, `/site/…`, `/dashboard/chart/…`; they take
    /// `carrier=`.
    Indicators,
    /// One file of the week: `/dashboard/export/NAME`.
    Export(String),
    /// The fleet: `/fleet`, `/probe/…`, `/api/v1/fleet`, and the sites' survey pages `/site/…/survey`.
    Fleet,
    /// Any other path (a 404, or a report file name sent on to its export): needs an account
    /// of this county, whatever its role.
    Other,
}

/// The exports an operator may download: county-level figures, no per-site rows.
pub const OPERATOR_EXPORTS: [&str; 3] = ["indicators.csv", "by_carrier.csv", "i32_websites.csv"];

/// The area `path` belongs to.
pub fn area(path: &str) -> Area {
    use fathom_shared::api::{
        DOWNLOAD_PATH, ENROLL_PATH, FLEET_PATH, HEALTH_PATH, METRICS_PATH, OPENAPI_PATH, PING_PATH,
        RESULTS_PATH,
    };
    if [
        RESULTS_PATH,
        ENROLL_PATH,
        HEALTH_PATH,
        OPENAPI_PATH,
        DOWNLOAD_PATH,
        PING_PATH,
        METRICS_PATH,
        super::LOGIN_PATH,
        super::LOGOUT_PATH,
    ]
    .contains(&path)
        || path.starts_with("/dashboard/font/")
    {
        return Area::Open;
    }
    // A site's survey page compares candidate mounting points (`fathom-agent survey`): the
    // technicians' work, not the site's service, so it goes with the fleet pages.
    let survey = path
        .strip_prefix("/site/")
        .is_some_and(|rest| rest.ends_with("/survey"));
    if path == FLEET_PATH || path == "/fleet" || path.starts_with("/probe/") || survey {
        return Area::Fleet;
    }
    if let Some(name) = path.strip_prefix(crate::dashboard::EXPORT_PREFIX) {
        return Area::Export(name.to_owned());
    }
    if path == "/"
        || path == "/map"
        || path.starts_with("/site/")
        || path.starts_with("/dashboard/chart/")
    {
        return Area::Indicators;
    }
    // The rest of the API answers probes (404 JSON for what does not exist); pages are gated.
    if path.starts_with("/api/") {
        return Area::Open;
    }
    Area::Other
}

/// What the gate does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve it as asked.
    Allow,
    /// Serve it with `carrier=` set to this carrier (an operator's page without one).
    AsCarrier(Carrier),
    /// Serve it with `county=` set to this county (the province as a whole asked by an account
    /// that sees only its counties).
    AsCounty(String),
    /// Refuse it (403).
    Deny,
}

/// Whether `account` may have `area` of county `county` (`None`: the province as a whole),
/// asking for `carrier` (the request's `carrier=`, when it names one).
pub fn decide(
    account: &Account,
    county: Option<&str>,
    area: &Area,
    carrier: Option<&str>,
) -> Decision {
    if *area == Area::Open || account.role == Role::Admin {
        return Decision::Allow;
    }
    let Some(county) = county else {
        return match account.counties.first() {
            Some(own) => Decision::AsCounty(own.clone()),
            None => Decision::Deny,
        };
    };
    if !account.counties.iter().any(|c| c == county) {
        return Decision::Deny;
    }
    match (account.role, area) {
        (Role::Admin | Role::County, _)
        | (_, Area::Open | Area::Other)
        | (Role::Technician, Area::Fleet) => Decision::Allow,
        (Role::Technician, _) | (Role::Operator, Area::Fleet) => Decision::Deny,
        (Role::Operator, Area::Indicators) => own_carrier(account, carrier),
        (Role::Operator, Area::Export(name)) => {
            // As the export handler tells a chart (case-sensitive: `X.SVG` is no chart there).
            let chart = name
                .strip_suffix(".svg")
                .or_else(|| name.strip_suffix(".png"))
                .is_some();
            if chart {
                own_carrier(account, carrier)
            } else if OPERATOR_EXPORTS.contains(&name.as_str()) {
                Decision::Allow
            } else {
                Decision::Deny
            }
        }
    }
}

/// An operator's view: its own carrier, whether asked for or not; another carrier is refused.
fn own_carrier(account: &Account, asked: Option<&str>) -> Decision {
    let Some(own) = account.carrier else {
        return Decision::Deny;
    };
    match asked.map(str::parse::<Carrier>) {
        None => Decision::AsCarrier(own),
        Some(Ok(k)) if k == own => Decision::Allow,
        Some(_) => Decision::Deny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: Role, counties: &[&str], carrier: Option<Carrier>) -> Account {
        Account {
            name: "x".to_owned(),
            role,
            counties: counties.iter().map(|c| (*c).to_owned()).collect(),
            carrier,
        }
    }

    #[test]
    fn paths_fall_into_their_areas() {
        assert_eq!(area("/"), Area::Indicators);
        assert_eq!(area("/site/county-hospital"), Area::Indicators);
        assert_eq!(area("/dashboard/chart/i26_trend.svg"), Area::Indicators);
        assert_eq!(area("/map"), Area::Indicators);
        assert_eq!(
            area("/dashboard/export/i26_sites.csv"),
            Area::Export("i26_sites.csv".to_owned())
        );
        assert_eq!(area("/fleet"), Area::Fleet);
        assert_eq!(area("/probe/yy-hosp-01"), Area::Fleet);
        assert_eq!(area("/site/county-hospital/survey"), Area::Fleet);
        assert_eq!(area("/site/county-hospital"), Area::Indicators);
        assert_eq!(area("/api/v1/fleet"), Area::Fleet);
        for open in [
            "/api/v1/results",
            "/api/v1/enroll",
            "/api/v1/health",
            "/api/v1/openapi.json",
            "/api/v1/download",
            "/api/v1/ping",
            "/metrics",
            "/login",
            "/logout",
            "/dashboard/font/wqy-microhei-0123.ttf",
            "/api/v1/nothing",
        ] {
            assert_eq!(area(open), Area::Open, "{open}");
        }
        assert_eq!(area("/indicators.csv"), Area::Other);
        assert_eq!(area("/fleetx"), Area::Other);
    }

    /// The role table of `docs/access.md`, row by row: (role, area, carrier asked, decision)
    /// for an account of the deployment's county.
    #[test]
    fn each_role_sees_what_the_table_says() {
        let here = "yiyuan";
        let cmcc = Some(Carrier::Cmcc);
        let admin = account(Role::Admin, &[], None);
        let county = account(Role::County, &[here], None);
        let op = account(Role::Operator, &["other", here], cmcc);
        let tech = account(Role::Technician, &[here], None);
        let export = |n: &str| Area::Export(n.to_owned());
        let table: Vec<(&Account, Area, Option<&str>, Decision)> = vec![
            (&admin, Area::Indicators, Some("cu"), Decision::Allow),
            (&admin, Area::Fleet, None, Decision::Allow),
            (&admin, export("i26_sites.csv"), None, Decision::Allow),
            (&county, Area::Indicators, Some("cu"), Decision::Allow),
            (&county, Area::Fleet, None, Decision::Allow),
            (&county, export("report.pdf"), None, Decision::Allow),
            (&county, Area::Other, None, Decision::Allow),
            (
                &op,
                Area::Indicators,
                None,
                Decision::AsCarrier(Carrier::Cmcc),
            ),
            (&op, Area::Indicators, Some("cmcc"), Decision::Allow),
            (&op, Area::Indicators, Some("cu"), Decision::Deny),
            (&op, Area::Indicators, Some("nonsense"), Decision::Deny),
            (&op, export("by_carrier.csv"), Some("cu"), Decision::Allow),
            (&op, export("indicators.csv"), None, Decision::Allow),
            (&op, export("i26_sites.csv"), None, Decision::Deny),
            (&op, export("i33_sites.csv"), None, Decision::Deny),
            (&op, export("indicators.json"), None, Decision::Deny),
            (&op, export("report.pdf"), None, Decision::Deny),
            (&op, export("completeness.csv"), None, Decision::Deny),
            (
                &op,
                export("site_speed.png"),
                None,
                Decision::AsCarrier(Carrier::Cmcc),
            ),
            (&op, export("site_speed.svg"), Some("ct"), Decision::Deny),
            (&op, Area::Fleet, None, Decision::Deny),
            (&tech, Area::Fleet, None, Decision::Allow),
            (&tech, Area::Indicators, None, Decision::Deny),
            (&tech, export("indicators.csv"), None, Decision::Deny),
            (&tech, Area::Open, None, Decision::Allow),
        ];
        for (who, area, carrier, expected) in table {
            assert_eq!(
                decide(who, Some(here), &area, carrier),
                expected,
                "{:?} {area:?} {carrier:?}",
                who.role
            );
        }
    }

    #[test]
    fn an_account_of_another_county_sees_nothing_but_the_open_paths() {
        for role in [Role::County, Role::Operator, Role::Technician] {
            let a = account(role, &["zibo-other"], Some(Carrier::Cmcc));
            for area in [
                Area::Indicators,
                Area::Fleet,
                Area::Other,
                Area::Export("indicators.csv".to_owned()),
            ] {
                assert_eq!(
                    decide(&a, Some("yiyuan"), &area, None),
                    Decision::Deny,
                    "{role} {area:?}"
                );
            }
            assert_eq!(
                decide(&a, Some("yiyuan"), &Area::Open, None),
                Decision::Allow
            );
        }
    }

    #[test]
    fn an_operator_without_a_carrier_sees_no_carrier_detail() {
        let a = account(Role::Operator, &["yiyuan"], None);
        assert_eq!(
            decide(&a, Some("yiyuan"), &Area::Indicators, None),
            Decision::Deny
        );
    }

    #[test]
    fn only_the_administrator_sees_the_province_as_a_whole() {
        let admin = account(Role::Admin, &[], None);
        assert_eq!(
            decide(&admin, None, &Area::Indicators, None),
            Decision::Allow
        );
        for role in [Role::County, Role::Operator, Role::Technician] {
            let a = account(role, &["yiyuan", "zichuan"], Some(Carrier::Cmcc));
            for area in [Area::Indicators, Area::Fleet, Area::Other] {
                assert_eq!(
                    decide(&a, None, &area, None),
                    Decision::AsCounty("yiyuan".to_owned()),
                    "{role} {area:?}"
                );
            }
            // The next county's page is another matter: granted or not.
            let zichuan = decide(&a, Some("zichuan"), &Area::Other, None);
            assert_eq!(zichuan, Decision::Allow, "{role}");
            let boshan = decide(&a, Some("boshan"), &Area::Other, None);
            assert_eq!(boshan, Decision::Deny, "{role}");
        }
        let nowhere = account(Role::County, &[], None);
        assert_eq!(
            decide(&nowhere, None, &Area::Indicators, None),
            Decision::Deny
        );
    }

    #[test]
    fn roles_parse_from_their_ids_only() {
        for r in Role::ALL {
            assert_eq!(r.id().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
