//! The names of the contact members the rules read (SPEC §4), each spelled once: the two
//! numbers, the optional [`Field`]s of rule 7 and `custom_fields`. The bottom of the crate:
//! the JSON reader, the rules, the codes and the clients' tools all name members through it.

use crate::table::code_table;

code_table! {
    /// The optional fields SPEC §4 rule 7 checks, in the order it checks them; each with its
    /// `invalid_field` message.
    pub enum Field {
        /// `use_journeys`: a JSON boolean.
        UseJourneys => "use_journeys", "use_journeys must be a boolean";
        /// `skip_journey_if_exists`: a JSON boolean.
        SkipJourneyIfExists => "skip_journey_if_exists", "skip_journey_if_exists must be a boolean";
        /// `use_validation`: a JSON boolean.
        UseValidation => "use_validation", "use_validation must be a boolean";
        /// `replace_custom_fields`: a JSON boolean.
        ReplaceCustomFields => "replace_custom_fields", "replace_custom_fields must be a boolean";
        /// `signup_date`: an RFC 3339 date-time not later than `now` + 5 minutes.
        SignupDate => "signup_date", "signup_date must be an RFC 3339 date-time not in the future";
        /// `ip_address`: an IPv4 or IPv6 address.
        IpAddress => "ip_address", "ip_address must be an IPv4 or IPv6 address";
        /// `url`: an absolute http or https URL with a host, at most 2048 bytes.
        Url => "url", "url must be an absolute http or https URL";
    }
}

impl Field {
    /// The message of `invalid_field` for this field (SPEC §4 rule 7).
    pub const fn message(self) -> &'static str {
        self.template()
    }
}

/// A contact member the rules read (SPEC §4): the two numbers, the [`Field`]s of rule 7 and
/// `custom_fields`. Every other member is kept for the store as sent.
///
/// ```
/// use bulk_contacts::{Field, Member};
///
/// assert_eq!(Member::ALL.len(), 10);
/// assert_eq!(Member::ALL[0].name(), "phone_number");
/// assert_eq!(Member::from_name("url"), Some(Member::Field(Field::Url)));
/// assert_eq!(Member::from_name("ad_network_source"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    /// `phone_number` (rules 3 and 5).
    PhoneNumber,
    /// `list_number` (rules 4 and 6).
    ListNumber,
    /// One of rule 7's optional fields.
    Field(Field),
    /// `custom_fields` (rule 8).
    CustomFields,
}

impl Member {
    /// How many members the rules read.
    pub(crate) const COUNT: usize = 3 + Field::ALL.len();

    /// Every member the rules read, in the SPEC's order: `phone_number`, `list_number`, the
    /// fields of rule 7 in its order, `custom_fields`.
    pub const ALL: [Member; Member::COUNT] = {
        let mut all = [Member::PhoneNumber; Member::COUNT];
        all[1] = Member::ListNumber;
        let mut at = 0;
        while at < Field::ALL.len() {
            all[2 + at] = Member::Field(Field::ALL[at]);
            at += 1;
        }
        all[Member::COUNT - 1] = Member::CustomFields;
        all
    };

    /// This member's slot in [`Member::ALL`] (and in a read contact), below [`Member::COUNT`].
    pub(crate) const fn index(self) -> usize {
        match self {
            Member::PhoneNumber => 0,
            Member::ListNumber => 1,
            Member::Field(field) => 2 + field as usize,
            Member::CustomFields => 2 + Field::ALL.len(),
        }
    }

    /// The member's name, as a contact spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Member::PhoneNumber => "phone_number",
            Member::ListNumber => "list_number",
            Member::Field(field) => field.as_str(),
            Member::CustomFields => "custom_fields",
        }
    }

    /// The member called exactly `name`, if the rules read it.
    pub fn from_name(name: &str) -> Option<Member> {
        const PHONE_NUMBER: &str = Member::PhoneNumber.name();
        const LIST_NUMBER: &str = Member::ListNumber.name();
        const CUSTOM_FIELDS: &str = Member::CustomFields.name();
        const USE_JOURNEYS: &str = Field::UseJourneys.as_str();
        const SKIP_JOURNEY_IF_EXISTS: &str = Field::SkipJourneyIfExists.as_str();
        const USE_VALIDATION: &str = Field::UseValidation.as_str();
        const REPLACE_CUSTOM_FIELDS: &str = Field::ReplaceCustomFields.as_str();
        const SIGNUP_DATE: &str = Field::SignupDate.as_str();
        const IP_ADDRESS: &str = Field::IpAddress.as_str();
        const URL: &str = Field::Url.as_str();
        // A match compiles to a switch on the length and one comparison.
        Some(match name {
            PHONE_NUMBER => Member::PhoneNumber,
            LIST_NUMBER => Member::ListNumber,
            CUSTOM_FIELDS => Member::CustomFields,
            USE_JOURNEYS => Member::Field(Field::UseJourneys),
            SKIP_JOURNEY_IF_EXISTS => Member::Field(Field::SkipJourneyIfExists),
            USE_VALIDATION => Member::Field(Field::UseValidation),
            REPLACE_CUSTOM_FIELDS => Member::Field(Field::ReplaceCustomFields),
            SIGNUP_DATE => Member::Field(Field::SignupDate),
            IP_ADDRESS => Member::Field(Field::IpAddress),
            URL => Member::Field(Field::Url),
            _ => return None,
        })
    }

    /// The member whose quoted name `text` starts with (after its opening quote), and the
    /// length of that name: member names the rules read are plain ASCII, so a name that
    /// starts the text and is followed by the closing quote is that member, with no escape to
    /// decode. `None` says nothing: the name may still be one, written with escapes.
    pub(crate) fn named_at(text: &[u8]) -> Option<(Member, usize)> {
        let candidates: &[Member] = match text.first()? {
            b'p' => &[Member::PhoneNumber],
            b'l' => &[Member::ListNumber],
            b'c' => &[Member::CustomFields],
            b'u' => &[
                Member::Field(Field::UseJourneys),
                Member::Field(Field::UseValidation),
                Member::Field(Field::Url),
            ],
            b's' => &[
                Member::Field(Field::SignupDate),
                Member::Field(Field::SkipJourneyIfExists),
            ],
            b'r' => &[Member::Field(Field::ReplaceCustomFields)],
            b'i' => &[Member::Field(Field::IpAddress)],
            _ => return None,
        };
        candidates.iter().find_map(|&member| {
            let name = member.name().as_bytes();
            // The closing quote first: one byte tells most candidates apart.
            (text.get(name.len()) == Some(&b'"') && text.starts_with(name))
                .then_some((member, name.len()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_has_its_own_slot_and_is_found_by_its_name() {
        for (slot, member) in Member::ALL.iter().enumerate() {
            assert_eq!(member.index(), slot, "{member:?}");
            assert_eq!(Member::from_name(member.name()), Some(*member));
            let quoted = format!("{}\"", member.name());
            assert_eq!(
                Member::named_at(quoted.as_bytes()),
                Some((*member, member.name().len()))
            );
        }
        let fields: Vec<Field> = Member::ALL
            .iter()
            .filter_map(|m| match m {
                Member::Field(field) => Some(*field),
                _ => None,
            })
            .collect();
        assert_eq!(fields, Field::ALL);
        for other in [
            "",
            "phone",
            "Phone_number",
            "phone_number ",
            "ad_network_source",
            "urls",
        ] {
            assert_eq!(Member::from_name(other), None, "{other}");
            assert_eq!(Member::named_at(format!("{other}\"").as_bytes()), None);
        }
    }
}
