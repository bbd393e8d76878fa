//! The domain model and wire types of Fathom, shared by `fathom-agent` and `fathom-collector`.
//!
//! This crate does no I/O: it holds what both sides must agree on, and the rules both apply.
//!
//! Layout:
//! - [`carrier`]: the four mobile carriers and the PLMN codes that identify them.
//! - [`site`]: site categories and which indicator scenes they belong to.
//! - [`ids`]: validated identifiers (probe, site, result, interface).
//! - [`time`]: UTC instants as they travel on the wire.
//! - [`result`]: one measurement result in wire format schema 1, with its validation.
//! - [`radio`]: radio access technologies and the "meets 5G" rule.
//! - [`week`]: the ISO-week reporting window in the county's time zone.
//! - [`units`]: units as types ([`ByteSize`], data sizes as config files write them).
//! - [`settings`]: what a probe runs by, in layers (defaults, the collector's `[probes]` and
//!   overrides, the probe's own file) and their one merge.
//! - [`survey`]: survey marks of candidate mounting points (`fathom-agent survey`), kept apart
//!   from results.
//! - [`api`]: the upload request, its answer and error bodies, and the OpenAPI description.
#![warn(missing_docs)]

pub mod api;
pub mod carrier;
pub mod ids;
pub mod plausible;
pub mod radio;
pub mod result;
pub mod settings;
pub mod site;
pub mod stats;
pub mod survey;
pub mod time;
pub mod units;
pub mod week;

pub use carrier::Carrier;
pub use ids::{InterfaceName, ProbeId, ResultId, SiteId};
pub use radio::{Meets5gThresholds, Rat};
pub use result::{
    Ipv6Check, Measurement, RadioSample, ResultHeader, ResultKind, ResultRecord, SpeedDirection,
    SpeedProtocol, SpeedTest, ValidationError, WireError,
};
pub use site::SiteCategory;
pub use time::UtcTime;
pub use units::ByteSize;
pub use week::IsoWeek;

/// The version of the result wire format this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;
