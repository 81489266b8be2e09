//! Where an intercom's gate is, as provisioning records it (`ota-admin location`):
//! the street address a guest reads, and the map position their phone's maps app
//! opens at. Copied into each invite with the intercom's label, so the guest's page
//! reads it from the invite's one item.

/// The most an address may be: two lines of a delivery note.
pub const ADDRESS_MAX_CHARS: usize = 120;

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub address: String,
    /// WGS 84 degrees, when provisioning gave them.
    pub position: Option<(f64, f64)>,
}

impl Location {
    /// An address of visible characters within [`ADDRESS_MAX_CHARS`], and a position
    /// on the globe if any.
    pub fn new(address: &str, position: Option<(f64, f64)>) -> Option<Self> {
        let address = address.split_whitespace().collect::<Vec<_>>().join(" ");
        let address_ok = !address.is_empty()
            && address.chars().count() <= ADDRESS_MAX_CHARS
            && !address.chars().any(char::is_control);
        let position_ok =
            position.is_none_or(|(lat, lon)| (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        (address_ok && position_ok).then_some(Self { address, position })
    }

    /// Google's Maps URL, which "launch[es] Google Maps and perform[s] the requested
    /// search" in the app where it is installed, else in the browser (Google Maps
    /// Platform, "Get started with Maps URLs"); on an iPhone without it, the browser
    /// offers Apple Maps. A link, not a script: the page loads nothing from Google.
    /// Without a position, the address is the query.
    pub fn map_url(&self) -> String {
        let query = match self.position {
            Some((lat, lon)) => format!("{lat:.6},{lon:.6}"),
            None => self.address.clone(),
        };
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("https://www.google.com/maps/search/?api=1&query={encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_opens_the_maps_app_at_its_position_or_its_address() {
        let gate = Location::new("  12 Jacaranda Rd,\n Parkhurst ", Some((-26.1386, 28.0172))).unwrap();
        assert_eq!(gate.address, "12 Jacaranda Rd, Parkhurst");
        assert_eq!(gate.map_url(), "https://www.google.com/maps/search/?api=1&query=-26.138600,28.017200");
        let street = Location::new("12 Jacaranda Rd", None).unwrap();
        assert_eq!(street.map_url(), "https://www.google.com/maps/search/?api=1&query=12%20Jacaranda%20Rd");
        assert!(Location::new("", None).is_none());
        assert!(Location::new("x", Some((91.0, 0.0))).is_none());
    }
}
