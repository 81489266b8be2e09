//! Who may do what on an intercom, from its membership items.

/// A user's relation to an intercom, written by Fluss's device management. Either
/// role may create, list and revoke codes and read the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    /// A shared user given permission to use the intercom's features.
    IntercomUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::IntercomUser => "intercom",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "owner" => Some(Self::Owner),
            "intercom" => Some(Self::IntercomUser),
            _ => None,
        }
    }

    pub fn can_change_settings(self) -> bool {
        self == Self::Owner
    }
}
