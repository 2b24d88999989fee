//! Every code and message of the SPEC, each defined once, in one table per kind.
//!
//! A row gives the variant, its wire code and its message (with `{limit}` standing for the
//! configured limit it names); the enum, `as_str()`, the message and the list of all codes
//! follow from the row. The rows are in the SPEC's order. [`ContactError`], the error a
//! contact ends with, is here too: one variant per code, with the field or validation result
//! its entry needs. The names and messages of rule 7's fields are [`Field`]'s.

use std::borrow::Cow;

use crate::limits::Limits;
use crate::lookup::{LookupError, ValidationResult};
use crate::member::Field;
use crate::table::code_table;

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
            Rejection::PayloadTooLarge => fill(self.template(), limits.max_body_bytes()),
            Rejection::TooManyContacts => fill(self.template(), limits.max_contacts()),
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
            ContactCode::InvalidField | ContactCode::ValidationFailed => None,
            _ => Some(self.filled(limits)),
        }
    }

    /// The message with the limit it names filled in (SPEC §4 rule 1); the other templates
    /// name nothing but the field or the disposition, filled by [`ContactError::message`].
    fn filled(self, limits: &Limits) -> Cow<'static, str> {
        match self {
            ContactCode::PayloadTooLarge => fill(self.template(), limits.max_contact_bytes()),
            _ => Cow::Borrowed(self.template()),
        }
    }

    /// The message of `validation_failed` for a disposition's wire name.
    pub(crate) fn validation_failed_message(disposition: &str) -> String {
        ContactCode::ValidationFailed
            .template()
            .replace("{disposition}", disposition)
    }
}

/// Why one contact failed: the one error of SPEC §4 it ends with, one variant per code
/// ([`ContactError::code`]), in the order the rules run.
///
/// `invalid_field` carries its [`Field`] and `validation_failed` the provider's
/// [`ValidationResult`] (echoed in the entry): no error can be built without what its entry
/// needs.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactError {
    /// Rule 1: the contact's compact serialization exceeds the per-contact limit.
    PayloadTooLarge,
    /// Rule 2: the contact is not a JSON object.
    InvalidContact,
    /// Rule 3: `phone_number` is absent or blank.
    MissingPhoneNumber,
    /// Rule 4: `list_number` is absent or blank.
    MissingListNumber,
    /// Rule 5: `phone_number` is not a string holding a valid E.164 number.
    InvalidPhone,
    /// Rule 6: `list_number` is not a string holding a valid E.164 number.
    InvalidListNumber,
    /// Rule 7: the first optional field with a wrong type or format.
    InvalidField(Field),
    /// Rule 8: `custom_fields` is not an object of string, number or boolean values.
    InvalidCustomFields,
    /// Rule 9: no sending list has that number.
    ListNotFound,
    /// Rule 10: the carrier check says the number is not sendable.
    NotSendable,
    /// Rule 11: the validation provider could not be reached for this number.
    ProviderError,
    /// Rule 12: the paid validation's result, whose disposition is `invalid` or `unreachable`.
    ValidationFailed(Box<ValidationResult>),
}

impl ContactError {
    /// The code of the entry.
    pub fn code(&self) -> ContactCode {
        match self {
            ContactError::PayloadTooLarge => ContactCode::PayloadTooLarge,
            ContactError::InvalidContact => ContactCode::InvalidContact,
            ContactError::MissingPhoneNumber => ContactCode::MissingPhoneNumber,
            ContactError::MissingListNumber => ContactCode::MissingListNumber,
            ContactError::InvalidPhone => ContactCode::InvalidPhone,
            ContactError::InvalidListNumber => ContactCode::InvalidListNumber,
            ContactError::InvalidField(_) => ContactCode::InvalidField,
            ContactError::InvalidCustomFields => ContactCode::InvalidCustomFields,
            ContactError::ListNotFound => ContactCode::ListNotFound,
            ContactError::NotSendable => ContactCode::NotSendable,
            ContactError::ProviderError => ContactCode::ProviderError,
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
            other => other.code().filled(limits),
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
        let limits = Limits::new(7, 99, 1234).expect("over the minimums");
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
    fn each_contact_error_has_its_own_code_and_message() {
        let result: ValidationResult = serde_json::from_str(
            r#"{"phone":"+1","valid":false,"line_type":"voip","carrier":"","carrier_raw":"",
                "ported":false,"country":"US","state":"","city":"","on_dnc":false,
                "disposition":"unreachable","cost":0,"cached":false}"#,
        )
        .expect("a validation result");
        let errors = [
            ContactError::PayloadTooLarge,
            ContactError::InvalidContact,
            ContactError::MissingPhoneNumber,
            ContactError::MissingListNumber,
            ContactError::InvalidPhone,
            ContactError::InvalidListNumber,
            ContactError::InvalidField(Field::Url),
            ContactError::InvalidCustomFields,
            ContactError::ListNotFound,
            ContactError::NotSendable,
            ContactError::ProviderError,
            ContactError::ValidationFailed(Box::new(result)),
        ];
        let codes: Vec<ContactCode> = errors.iter().map(ContactError::code).collect();
        assert_eq!(codes, ContactCode::ALL);
        let limits = Limits::new(7, 99, 1234).expect("over the minimums");
        for error in &errors {
            let message = error.message(&limits);
            assert!(!message.contains('{'), "{error:?}: {message}");
            match error.code().fixed_message(&limits) {
                Some(fixed) => assert_eq!(fixed, message),
                None => assert!(error.field().is_some() || error.validation().is_some()),
            }
        }
        assert_eq!(
            errors[6].message(&limits),
            "url must be an absolute http or https URL"
        );
        assert_eq!(
            errors[11].message(&limits),
            "Phone validation failed: unreachable"
        );
    }
}
