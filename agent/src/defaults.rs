//! Defaults of the probe configuration, in one place so the docs, the example file and the code
//! agree (the example config test checks them).

use std::time::Duration;

/// Default cadence of speed tests: hourly keeps a SIM's monthly data in budget.
pub const DEFAULT_SPEED_EVERY: Duration = Duration::from_secs(3600);
/// Default cadence of radio samples.
pub const DEFAULT_RADIO_EVERY: Duration = Duration::from_secs(60);
/// Default cadence of IPv6 website checks.
pub const DEFAULT_IPV6_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Default longest connection set-up of an IPv6 check.
pub const DEFAULT_IPV6_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default longest load of one page in an IPv6 check, redirects included.
pub const DEFAULT_IPV6_PAGE_TIMEOUT: Duration = Duration::from_secs(15);
/// Default longest wait for one DNS answer in an IPv6 check.
pub const DEFAULT_IPV6_DNS_TIMEOUT: Duration = Duration::from_secs(3);
/// Default monthly data budget of a SIM when neither the probe's file nor the collector sets
/// one: 2 GB. Without a ceiling, whoever controls the collector's answers (its operator, or
/// anyone answering in its place) could schedule tests that spend a SIM's whole plan in
/// minutes. 2 GB bounds what a runaway schedule can cost and still leaves room for dozens of
/// speed tests and a month of daily IPv6 rounds; a county whose plans are bigger (or smaller)
/// says so in `monthly_budget`.
pub const DEFAULT_MONTHLY_BUDGET: u64 = 2_000_000_000;
/// Default most results per upload.
pub const DEFAULT_BATCH: usize = 500;
/// Default first retry delay after a failed upload.
pub const DEFAULT_RETRY_MIN: Duration = Duration::from_secs(1);
/// Default longest retry delay.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(300);
/// Default longest speed test.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(10);
/// Default most bytes one speed test downloads: 34 % of a fixed 10 s test at 1 Gbit/s. That is
/// the room a 1 Gbit/s link needs to reach the 2 s stable span before the allowance ends: in the
/// lab, on a link that carries 950 Mbit/s, such a test reads 923-950 Mbit/s and uses 240 MB,
/// while a 200 or 300 MB cap ends the streams early (698-754 Mbit/s). A slower link stops on a
/// stable rate long before, and a modem's monthly budget lowers the cap further.
pub const DEFAULT_MAX_BYTES: u64 = 400_000_000;
/// Default `[speedtest] upload_every`: an upload test after every fourth download of a modem.
/// Uploads are supporting figures, not the standard's indicators, so they get a quarter of the
/// downloads' turns (and of their data): at the default cadence, a few a day per carrier.
pub const DEFAULT_UPLOAD_EVERY: u32 = 4;
