//! What the guest is told of the host and of the place, as items keep it: the host
//! on the invite (`host`: name, and the contact only when the owner chose one), the
//! location on the registry and, copied at creation, on the invite (`location`:
//! address, and latitude and longitude when provisioned).

use super::attributes::*;
use crate::domain::guest::GuestName;
use crate::domain::host::{ContactVia, Host};
use crate::domain::location::Location;
use crate::domain::phone::Mobile;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

const NAME: &str = "name";
const VIA: &str = "via";
const NUMBER: &str = "number";
const ADDRESS: &str = "address";
const LATITUDE: &str = "lat";
const LONGITUDE: &str = "lon";

pub fn host_attribute(host: &Host) -> AttributeValue {
    let mut fields = HashMap::from([(NAME.to_owned(), s(host.name.as_str()))]);
    if let Some((via, number)) = &host.contact {
        fields.insert(VIA.to_owned(), s(via.as_str()));
        fields.insert(NUMBER.to_owned(), s(number.e164()));
    }
    AttributeValue::M(fields)
}

pub fn host_from(item: &Item) -> Result<Option<Host>, ItemError> {
    let Some(value) = item.get(names::HOST) else { return Ok(None) };
    let fields = value.as_m().map_err(|_| bad(names::HOST))?;
    let contact = match fields.get(VIA) {
        None => None,
        Some(_) => {
            Some((parse_attr(fields, VIA, ContactVia::parse)?, Mobile::from_stored(get_s(fields, NUMBER)?.to_owned())))
        }
    };
    Ok(Some(Host { name: GuestName::from_stored(get_s(fields, NAME)?.to_owned()), contact }))
}

pub fn location_attribute(location: &Location) -> AttributeValue {
    let mut fields = HashMap::from([(ADDRESS.to_owned(), s(&location.address))]);
    if let Some((latitude, longitude)) = location.position {
        fields.insert(LATITUDE.to_owned(), n(latitude));
        fields.insert(LONGITUDE.to_owned(), n(longitude));
    }
    AttributeValue::M(fields)
}

pub fn location_from(item: &Item) -> Result<Option<Location>, ItemError> {
    let Some(value) = item.get(names::LOCATION) else { return Ok(None) };
    let fields = value.as_m().map_err(|_| bad(names::LOCATION))?;
    let position = match fields.get(LATITUDE) {
        None => None,
        Some(_) => Some((get_n(fields, LATITUDE)?, get_n(fields, LONGITUDE)?)),
    };
    Ok(Some(Location { address: get_s(fields, ADDRESS)?.to_owned(), position }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_and_a_location_survive_their_items() {
        let number = Mobile::from_stored("+27825550100".into());
        let name = GuestName::parse("Thandi").unwrap();
        for host in
            [Host { name: name.clone(), contact: None }, Host { name, contact: Some((ContactVia::WhatsApp, number)) }]
        {
            let item = HashMap::from([(names::HOST.to_owned(), host_attribute(&host))]);
            assert_eq!(host_from(&item).unwrap(), Some(host));
        }
        for location in [
            Location::new("12 Jacaranda Rd", Some((-26.1386, 28.0172))).unwrap(),
            Location::new("Gate 3", None).unwrap(),
        ] {
            let item = HashMap::from([(names::LOCATION.to_owned(), location_attribute(&location))]);
            assert_eq!(location_from(&item).unwrap(), Some(location));
        }
        assert_eq!(host_from(&HashMap::new()).unwrap(), None);
    }
}
