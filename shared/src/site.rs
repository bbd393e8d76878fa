//! Site categories and the indicator scenes they belong to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of place a site is. Decides whether it counts for I26 (download speed scenes) and
/// for I33 (key public areas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteCategory {
    /// A hospital (level 2 or above).
    Hospital,
    /// A railway or bus station, or an airport.
    TransitHub,
    /// A well-known shopping district.
    Commercial,
    /// A large park or square.
    Park,
    /// A residential area.
    Residential,
    /// A school.
    School,
    /// A library.
    Library,
    /// A government service centre.
    GovService,
    /// A scenic spot.
    Scenic,
}

impl SiteCategory {
    /// Every category, in the order reports list them.
    pub const ALL: [SiteCategory; 9] = [
        SiteCategory::Hospital,
        SiteCategory::TransitHub,
        SiteCategory::Commercial,
        SiteCategory::Park,
        SiteCategory::Residential,
        SiteCategory::School,
        SiteCategory::Library,
        SiteCategory::GovService,
        SiteCategory::Scenic,
    ];

    /// The id used on the wire and in configuration files.
    pub const fn id(self) -> &'static str {
        match self {
            SiteCategory::Hospital => "hospital",
            SiteCategory::TransitHub => "transit_hub",
            SiteCategory::Commercial => "commercial",
            SiteCategory::Park => "park",
            SiteCategory::Residential => "residential",
            SiteCategory::School => "school",
            SiteCategory::Library => "library",
            SiteCategory::GovService => "gov_service",
            SiteCategory::Scenic => "scenic",
        }
    }

    /// The category's name in Chinese.
    pub const fn name_zh(self) -> &'static str {
        match self {
            SiteCategory::Hospital => "医院",
            SiteCategory::TransitHub => "交通枢纽",
            SiteCategory::Commercial => "商业街区",
            SiteCategory::Park => "公园广场",
            SiteCategory::Residential => "居民小区",
            SiteCategory::School => "学校",
            SiteCategory::Library => "图书馆",
            SiteCategory::GovService => "政务服务中心",
            SiteCategory::Scenic => "景区",
        }
    }

    /// Whether download tests at such a site count for I26: hospitals, transit hubs, shopping
    /// districts, parks and residential areas.
    pub const fn is_i26_scene(self) -> bool {
        matches!(
            self,
            SiteCategory::Hospital
                | SiteCategory::TransitHub
                | SiteCategory::Commercial
                | SiteCategory::Park
                | SiteCategory::Residential
        )
    }

    /// Whether such a site is a key public area for I33: transit hubs, scenic spots, parks,
    /// libraries, hospitals, schools and government service centres.
    pub const fn is_key_public_area(self) -> bool {
        matches!(
            self,
            SiteCategory::TransitHub
                | SiteCategory::Scenic
                | SiteCategory::Park
                | SiteCategory::Library
                | SiteCategory::Hospital
                | SiteCategory::School
                | SiteCategory::GovService
        )
    }
}

impl fmt::Display for SiteCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_follow_the_standard() {
        let i26: Vec<_> = SiteCategory::ALL
            .into_iter()
            .filter(|c| c.is_i26_scene())
            .collect();
        assert_eq!(
            i26,
            [
                SiteCategory::Hospital,
                SiteCategory::TransitHub,
                SiteCategory::Commercial,
                SiteCategory::Park,
                SiteCategory::Residential
            ]
        );
        let key: Vec<_> = SiteCategory::ALL
            .into_iter()
            .filter(|c| c.is_key_public_area())
            .collect();
        assert_eq!(key.len(), 7);
        assert!(!SiteCategory::Commercial.is_key_public_area());
        assert!(!SiteCategory::Residential.is_key_public_area());
    }

    #[test]
    fn serde_ids_match_id() {
        for c in SiteCategory::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.id())
            );
        }
    }
}
