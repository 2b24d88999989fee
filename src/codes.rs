//! Every code and message of the SPEC, each defined once, in one table per kind.
//!
//! A row gives the variant, its wire code and its message (with `{limit}` standing for the
//! configured limit it names); the enum, `as_str()`, the message and the list of all codes
//! follow from the row. The rows are in the SPEC's order. [`ContactError`], the error a
//! contact ends with, is here too: a code, or the field or validation result its entry needs.

use std::borrow::Cow;

use crate::limits::Limits;
use crate::lookup::{LookupError, ValidationResult};

macro_rules! code_table {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[doc = $doc:literal])+ $variant:ident => $wire:literal, $message:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl $name {
            /// Every variant, in the SPEC's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The machine-readable code, as sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire, )+ }
            }

            /// The message, `{limit}` standing for the configured limit it names.
            const fn template(self) -> &'static str {
                match self { $( $name::$variant => $message, )+ }
            }
        }
    };
}

code_table! {
    /// Why a whole request is rejected (SPEC §3), in the order the checks run.
    pub enum Rejection {
        /// 401: the `X-Api-Key` header is absent or empty.
        MissingApiKey => "unauthorized", "API key required";
        /// 401: the header is malformed or is not one of the account's keys.
        InvalidApiKey => "unauthorized", "Invalid API key";
        /// 413: the body is longer than the request limit.
        PayloadTooLarge => "payload_too_large", "Request body exceeds the {limit} byte limit";
        /// 400: the body is not one valid JSON text.
        InvalidJson => "invalid_json", "Request body must be valid JSON";
        /// 400: no non-empty `contacts` array at the top level.
        MissingContacts => "missing_contacts", "contacts must be a non-empty array";
        /// 413: `contacts` has more elements than the limit.
        TooManyContacts => "too_many_contacts", "contacts exceeds the limit of {limit} per request";
        /// 402: validation asked for, and the account has no billing configuration.
        NoBillingConfig => "no_billing_config", "Billing is not configured for this account";
        /// 402: validation asked for, and the account has no payment method.
        NoPaymentMethod => "no_payment_method", "No payment method on file";
        /// 402: validation asked for, and the account's last payment failed.
        PaymentFailed => "payment_failed", "The last payment failed";
        /// 402: validation asked for, and the account's billing is suspended.
        Suspended => "suspended", "Billing is suspended for this account";
        /// 500: a list, carrier or directory lookup failed.
        InternalError => "internal_error", "An unexpected error occurred";
    }
}

impl Rejection {
    /// The HTTP status of the rejected request.
    pub const fn status(self) -> u16 {
        match self {
            Rejection::MissingApiKey | Rejection::InvalidApiKey => 401,
            Rejection::PayloadTooLarge | Rejection::TooManyContacts => 413,
            Rejection::InvalidJson | Rejection::MissingContacts => 400,
            Rejection::NoBillingConfig
            | Rejection::NoPaymentMethod
            | Rejection::PaymentFailed
            | Rejection::Suspended => 402,
            Rejection::InternalError => 500,
        }
    }

    /// The human-readable message, with the configured limits.
    pub fn message(self, limits: &Limits) -> Cow<'static, str> {
        match self {
            Rejection::PayloadTooLarge => fill(self.template(), limits.max_body_bytes),
            Rejection::TooManyContacts => fill(self.template(), limits.max_contacts),
            _ => Cow::Borrowed(self.template()),
        }
    }
}

/// A failed lookup is answered 500 `internal_error`, so that `?` works in a handler returning
/// `Result<_, Rejection>`. The detail is dropped: log it first if it is wanted
/// (`.inspect_err(|e| log(e))?`).
///
/// ```
/// use bulk_contacts::{LookupError, Rejection};
///
/// fn screen() -> Result<(), LookupError> {
///     Err(LookupError::new("list", "connection reset"))
/// }
/// fn handler() -> Result<(), Rejection> {
///     screen()?;
///     Ok(())
/// }
/// assert_eq!(handler(), Err(Rejection::InternalError));
/// ```
impl From<LookupError> for Rejection {
    fn from(_: LookupError) -> Self {
        Rejection::InternalError
    }
}

code_table! {
    /// Why one contact fails (SPEC §4), in the order the rules run.
    pub enum ContactCode {
        /// Rule 1: the contact's compact serialization exceeds the per-contact limit.
        PayloadTooLarge => "payload_too_large", "Contact payload exceeds the {limit} byte limit";
        /// Rule 2: the contact is not a JSON object.
        InvalidContact => "invalid_contact", "Contact must be a JSON object";
        /// Rule 3: `phone_number` is absent or blank.
        MissingPhoneNumber => "missing_phone_number", "phone_number is required";
        /// Rule 4: `list_number` is absent or blank.
        MissingListNumber => "missing_list_number", "list_number is required";
        /// Rule 5: `phone_number` is not a string holding a valid E.164 number.
        InvalidPhone => "invalid_phone", "phone_number must be a valid E.164 number";
        /// Rule 6: `list_number` is not a string holding a valid E.164 number.
        InvalidListNumber => "invalid_list_number", "list_number must be a valid E.164 number";
        /// Rule 7: an optional field has a wrong type or format (see [`Field`]).
        InvalidField => "invalid_field", "{field}";
        /// Rule 8: `custom_fields` is not an object of string, number or boolean values.
        InvalidCustomFields => "invalid_custom_fields", "custom_fields must be an object of string, number or boolean values";
        /// Rule 9: no sending list has that number.
        ListNotFound => "list_not_found", "Sending list not found";
        /// Rule 10: the carrier check says the number is not sendable.
        NotSendable => "not_sendable", "Phone number failed carrier validation";
        /// Rule 11: the validation provider could not be reached for this number.
        ProviderError => "provider_error", "Phone validation provider unavailable";
        /// Rule 12: the paid validation's disposition is `invalid` or `unreachable`.
        ValidationFailed => "validation_failed", "Phone validation failed: {disposition}";
    }
}

impl ContactCode {
    /// The message of a code whose message depends only on the limits; `None` for
    /// [`ContactCode::InvalidField`] and [`ContactCode::ValidationFailed`], whose messages
    /// depend on the field and on the disposition.
    pub fn fixed_message(self, limits: &Limits) -> Option<Cow<'static, str>> {
        match self {
            ContactCode::PayloadTooLarge => Some(fill(self.template(), limits.max_contact_bytes)),
            ContactCode::InvalidField | ContactCode::ValidationFailed => None,
            _ => Some(Cow::Borrowed(self.template())),
        }
    }

    /// The message of `validation_failed` for a disposition's wire name.
    pub(crate) fn validation_failed_message(disposition: &str) -> String {
        ContactCode::ValidationFailed
            .template()
            .replace("{disposition}", disposition)
    }
}

code_table! {
    /// The optional fields rule 7 checks, in the order it checks them.
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
    /// The message of `invalid_field` for this field.
    pub const fn message(self) -> &'static str {
        self.template()
    }
}

/// The names of the contact members the rules read besides the [`Field`]s: each spelled once.
pub(crate) mod member {
    /// Rules 3 and 5.
    pub const PHONE_NUMBER: &str = "phone_number";
    /// Rules 4 and 6.
    pub const LIST_NUMBER: &str = "list_number";
    /// Rule 8.
    pub const CUSTOM_FIELDS: &str = "custom_fields";
}

/// A contact member the rules read: the two numbers, the [`Field`]s and `custom_fields`, each
/// with its slot in a read contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    PhoneNumber,
    ListNumber,
    Field(Field),
    CustomFields,
}

impl Member {
    /// How many members the rules read.
    pub(crate) const COUNT: usize = 3 + Field::ALL.len();

    /// This member's slot, below [`Member::COUNT`].
    pub(crate) const fn index(self) -> usize {
        match self {
            Member::PhoneNumber => 0,
            Member::ListNumber => 1,
            Member::Field(field) => 2 + field as usize,
            Member::CustomFields => 2 + Field::ALL.len(),
        }
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

    /// The member's name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Member::PhoneNumber => member::PHONE_NUMBER,
            Member::ListNumber => member::LIST_NUMBER,
            Member::Field(field) => field.as_str(),
            Member::CustomFields => member::CUSTOM_FIELDS,
        }
    }

    /// The member called `name`, if the rules read it.
    pub(crate) fn of(name: &str) -> Option<Member> {
        const USE_JOURNEYS: &str = Field::UseJourneys.as_str();
        const SKIP_JOURNEY_IF_EXISTS: &str = Field::SkipJourneyIfExists.as_str();
        const USE_VALIDATION: &str = Field::UseValidation.as_str();
        const REPLACE_CUSTOM_FIELDS: &str = Field::ReplaceCustomFields.as_str();
        const SIGNUP_DATE: &str = Field::SignupDate.as_str();
        const IP_ADDRESS: &str = Field::IpAddress.as_str();
        const URL: &str = Field::Url.as_str();
        Some(match name {
            member::PHONE_NUMBER => Member::PhoneNumber,
            member::LIST_NUMBER => Member::ListNumber,
            member::CUSTOM_FIELDS => Member::CustomFields,
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
}

/// Whether the rules read the member `name`. Every other member is kept for the store as sent.
pub(crate) fn is_known_member(name: &str) -> bool {
    Member::of(name).is_some()
}

/// Why one contact failed: the one error of SPEC §4 it ends with.
///
/// An error that needs more than a code carries it: `invalid_field` its [`Field`],
/// `validation_failed` the provider's [`ValidationResult`] (echoed in the entry). The engine
/// builds [`ContactCode::InvalidField`] and [`ContactCode::ValidationFailed`] only as those two
/// variants, never as [`ContactError::Code`].
#[derive(Debug, Clone, PartialEq)]
pub enum ContactError {
    /// A code whose entry has no member beyond `code` and `error`.
    Code(ContactCode),
    /// Rule 7: the first optional field with a wrong type or format.
    InvalidField(Field),
    /// Rule 12: the paid validation's result, whose disposition is `invalid` or `unreachable`.
    ValidationFailed(Box<ValidationResult>),
}

impl From<ContactCode> for ContactError {
    fn from(code: ContactCode) -> Self {
        ContactError::Code(code)
    }
}

impl ContactError {
    /// The code of the entry.
    pub fn code(&self) -> ContactCode {
        match self {
            ContactError::Code(code) => *code,
            ContactError::InvalidField(_) => ContactCode::InvalidField,
            ContactError::ValidationFailed(_) => ContactCode::ValidationFailed,
        }
    }

    /// The field of an `invalid_field` entry.
    pub fn field(&self) -> Option<Field> {
        match self {
            ContactError::InvalidField(field) => Some(*field),
            _ => None,
        }
    }

    /// The validation result of a `validation_failed` entry.
    pub fn validation(&self) -> Option<&ValidationResult> {
        match self {
            ContactError::ValidationFailed(result) => Some(result),
            _ => None,
        }
    }

    /// The human-readable message of the entry, with the configured limits.
    pub fn message(&self, limits: &Limits) -> Cow<'static, str> {
        match self {
            ContactError::InvalidField(field) => Cow::Borrowed(field.message()),
            ContactError::ValidationFailed(result) => Cow::Owned(
                ContactCode::validation_failed_message(result.disposition.as_str()),
            ),
            ContactError::Code(code) => code
                .fixed_message(limits)
                .unwrap_or(Cow::Borrowed(code.as_str())),
        }
    }
}

fn fill(template: &'static str, limit: usize) -> Cow<'static, str> {
    Cow::Owned(template.replace("{limit}", &limit.to_string()))
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status(), self.as_str())
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_configured_limits() {
        let limits = Limits {
            max_contacts: 7,
            max_contact_bytes: 99,
            max_body_bytes: 1234,
        };
        assert_eq!(
            Rejection::PayloadTooLarge.message(&limits),
            "Request body exceeds the 1234 byte limit"
        );
        assert_eq!(
            Rejection::TooManyContacts.message(&limits),
            "contacts exceeds the limit of 7 per request"
        );
        assert_eq!(
            ContactCode::PayloadTooLarge
                .fixed_message(&limits)
                .as_deref(),
            Some("Contact payload exceeds the 99 byte limit")
        );
    }

    #[test]
    fn default_messages_are_the_spec_texts() {
        let limits = Limits::default();
        assert_eq!(
            Rejection::PayloadTooLarge.message(&limits),
            "Request body exceeds the 5242880 byte limit"
        );
        assert_eq!(
            Rejection::TooManyContacts.message(&limits),
            "contacts exceeds the limit of 1000 per request"
        );
        assert_eq!(
            ContactCode::validation_failed_message("unreachable"),
            "Phone validation failed: unreachable"
        );
    }

    #[test]
    fn every_message_is_filled() {
        let limits = Limits::default();
        for code in Rejection::ALL {
            assert!(!code.message(&limits).contains('{'), "{code:?}");
        }
        for code in ContactCode::ALL {
            if let Some(message) = code.fixed_message(&limits) {
                assert!(!message.contains('{'), "{code:?}");
            }
        }
    }

    #[test]
    fn every_member_the_rules_read_has_its_own_slot() {
        let mut members = vec![
            (member::PHONE_NUMBER, Member::PhoneNumber),
            (member::LIST_NUMBER, Member::ListNumber),
            (member::CUSTOM_FIELDS, Member::CustomFields),
        ];
        members.extend(Field::ALL.iter().map(|f| (f.as_str(), Member::Field(*f))));
        assert_eq!(members.len(), Member::COUNT);
        let mut slots: Vec<usize> = members.iter().map(|(_, m)| m.index()).collect();
        slots.sort_unstable();
        assert_eq!(slots, (0..Member::COUNT).collect::<Vec<_>>());
        for (name, member) in members.iter().copied() {
            assert_eq!(Member::of(name), Some(member), "{name}");
        }
        for other in [
            "",
            "phone",
            "Phone_number",
            "phone_number ",
            "ad_network_source",
        ] {
            assert_eq!(Member::of(other), None, "{other}");
        }
    }
}
