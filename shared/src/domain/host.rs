//! Who invited the guest, as the guest is told: the name the app sends with the
//! code, and a way to reach them only when the owner chose one. Nothing else of the
//! host's reaches the guest.

use super::guest::GuestName;
use super::phone::Mobile;

/// How the guest may reach the host, when the owner chose to be reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactVia {
    Call,
    WhatsApp,
}

impl ContactVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::WhatsApp => "whatsapp",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Call, Self::WhatsApp].into_iter().find(|via| via.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// As the app names the host (checked like a guest's name).
    pub name: GuestName,
    pub contact: Option<(ContactVia, Mobile)>,
}

impl Host {
    /// The link the guest's page opens: the phone's dialler (RFC 3966 `tel:`) or
    /// WhatsApp's click-to-chat (the number without "+", as WhatsApp asks).
    pub fn contact_url(&self) -> Option<String> {
        let (via, number) = self.contact.as_ref()?;
        Some(match via {
            ContactVia::Call => format!("tel:{}", number.e164()),
            ContactVia::WhatsApp => format!("https://wa.me/{}", number.e164().trim_start_matches('+')),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_opens_the_dialler_or_whatsapp_and_none_is_offered_unless_chosen() {
        let name = GuestName::parse("Thandi").unwrap();
        let number = Mobile::from_stored("+27825550100".into());
        let call = Host { name: name.clone(), contact: Some((ContactVia::Call, number.clone())) };
        assert_eq!(call.contact_url().as_deref(), Some("tel:+27825550100"));
        let chat = Host { name: name.clone(), contact: Some((ContactVia::WhatsApp, number)) };
        assert_eq!(chat.contact_url().as_deref(), Some("https://wa.me/27825550100"));
        assert_eq!(Host { name, contact: None }.contact_url(), None);
        assert_eq!(ContactVia::parse("sms"), None);
    }
}
