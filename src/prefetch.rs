//! What a server reads from its store before evaluating, turned into the engine's types: a
//! billing status and a carrier verdict from the names a column holds, and the prefetched
//! maps ([`CarrierValidationMap`], [`DirectoryMap`]) straight from the rows a query returns.

use std::str::FromStr;

use crate::account::Billing;
use crate::lookup::{Carrier, CarrierValidationMap, DirectoryMap, ProviderError, ValidationResult};

/// A stored name that names no value: an unknown billing status or carrier verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}")]
pub struct UnknownName {
    /// What was read: `billing status` or `carrier verdict`.
    pub what: &'static str,
    /// The name, as read.
    pub name: String,
}

impl FromStr for Billing {
    type Err = UnknownName;

    /// The name [`Billing::as_str`] gives (`active`, `no_billing_config`, …), exactly.
    ///
    /// ```
    /// use bulk_contacts::Billing;
    /// assert_eq!("suspended".parse(), Ok(Billing::Suspended));
    /// assert!("Active".parse::<Billing>().is_err());
    /// ```
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Billing::ALL
            .into_iter()
            .find(|billing| billing.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "billing status",
                name: name.to_owned(),
            })
    }
}

impl Carrier {
    /// The verdict's name, as in a world (SPEC §8): `sendable` or `not_sendable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Carrier::Sendable => "sendable",
            Carrier::NotSendable => "not_sendable",
        }
    }
}

impl FromStr for Carrier {
    type Err = UnknownName;

    /// `sendable` or `not_sendable`, exactly.
    fn from_str(name: &str) -> Result<Self, UnknownName> {
        [Carrier::Sendable, Carrier::NotSendable]
            .into_iter()
            .find(|verdict| verdict.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "carrier verdict",
                name: name.to_owned(),
            })
    }
}

/// The carrier verdicts a query found, as `(phone, verdict)` rows (rule 10, the keys of
/// [`Keys::phones`](crate::Keys::phones)); no validation result yet.
///
/// ```
/// use bulk_contacts::{Carrier, CarrierCheck, CarrierValidationMap};
/// let rows = vec![("+13105558888".to_owned(), "not_sendable")];
/// let carrier: CarrierValidationMap = rows
///     .into_iter()
///     .map(|(phone, verdict)| Ok((phone, verdict.parse::<Carrier>()?)))
///     .collect::<Result<_, bulk_contacts::UnknownName>>()?;
/// assert_eq!(carrier.carrier("+13105558888")?, Carrier::NotSendable);
/// assert_eq!(carrier.carrier("+14155550000")?, Carrier::Sendable); // no row: sendable
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<P: Into<String>> FromIterator<(P, Carrier)> for CarrierValidationMap {
    fn from_iter<I: IntoIterator<Item = (P, Carrier)>>(verdicts: I) -> Self {
        let mut map = CarrierValidationMap::default();
        map.extend(verdicts);
        map
    }
}

/// More carrier verdicts, by phone number (a later one replaces an earlier one).
impl<P: Into<String>> Extend<(P, Carrier)> for CarrierValidationMap {
    fn extend<I: IntoIterator<Item = (P, Carrier)>>(&mut self, verdicts: I) {
        self.carrier_verdicts.extend(
            verdicts
                .into_iter()
                .map(|(phone, verdict)| (phone.into(), verdict)),
        );
    }
}

/// The paid validation's answers, by phone number: what the provider returned for the numbers
/// of [`Screened::validation_keys`](crate::Screened::validation_keys).
///
/// ```
/// use bulk_contacts::{CarrierCheck, CarrierValidationMap, ProviderError, ValidationResult};
/// let mut carrier = CarrierValidationMap::default();
/// let wanted = ["+12125550000", "+12125550001"];
/// carrier.extend(wanted.map(|phone| match phone {
///     "+12125550001" => (phone, Err(ProviderError)),
///     _ => (phone, Ok(ValidationResult::ok(phone))),
/// }));
/// assert!(carrier.validate("+12125550000").is_ok());
/// assert_eq!(carrier.validate("+12125550001"), Err(ProviderError));
/// ```
impl<P: Into<String>> Extend<(P, Result<ValidationResult, ProviderError>)>
    for CarrierValidationMap
{
    fn extend<I>(&mut self, results: I)
    where
        I: IntoIterator<Item = (P, Result<ValidationResult, ProviderError>)>,
    {
        self.validation_results.extend(
            results
                .into_iter()
                .map(|(phone, result)| (phone.into(), result)),
        );
    }
}

impl DirectoryMap {
    /// The directory from the rows two queries found: the phone numbers that have a contact,
    /// and the `(phone, list number)` memberships (the keys of
    /// [`Keys::phones`](crate::Keys::phones) and [`Keys::memberships`](crate::Keys::memberships);
    /// extra rows are harmless, the engine asks only about its keys).
    ///
    /// ```
    /// use bulk_contacts::{Directory, DirectoryMap};
    /// let directory = DirectoryMap::from_rows(
    ///     ["+14155550000"],
    ///     [("+14155550000", "+18005551234")],
    /// );
    /// assert!(directory.contact_exists("+14155550000")?);
    /// assert!(directory.is_member("+14155550000", "+18005551234")?);
    /// assert!(!directory.is_member("+14155550000", "+18005550000")?);
    /// # Ok::<(), bulk_contacts::LookupError>(())
    /// ```
    pub fn from_rows<P, M, L>(
        contact_phones: impl IntoIterator<Item = P>,
        memberships: impl IntoIterator<Item = (M, L)>,
    ) -> DirectoryMap
    where
        P: Into<String>,
        M: Into<String>,
        L: Into<String>,
    {
        let mut directory = DirectoryMap {
            contact_phones: contact_phones.into_iter().map(Into::into).collect(),
            ..DirectoryMap::default()
        };
        for (phone, list_number) in memberships {
            directory
                .list_numbers_by_phone
                .entry(phone.into())
                .or_default()
                .insert(list_number.into());
        }
        directory
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::{CarrierCheck, Directory};

    #[test]
    fn every_billing_status_and_verdict_reads_back_from_its_name_and_nothing_else_does() {
        for billing in Billing::ALL {
            assert_eq!(billing.as_str().parse(), Ok(billing));
        }
        for verdict in [Carrier::Sendable, Carrier::NotSendable] {
            assert_eq!(verdict.as_str().parse(), Ok(verdict));
        }
        assert_eq!(
            "Active".parse::<Billing>(),
            Err(UnknownName {
                what: "billing status",
                name: "Active".to_owned()
            })
        );
        assert!(" sendable".parse::<Carrier>().is_err());
        assert!("".parse::<Carrier>().is_err());
    }

    #[test]
    fn maps_built_from_rows_answer_as_maps_filled_by_hand() {
        let rows = [("+1a", Carrier::NotSendable), ("+1b", Carrier::Sendable)];
        let carrier: CarrierValidationMap = rows.into_iter().collect();
        let mut by_hand = CarrierValidationMap::default();
        for (phone, verdict) in rows {
            by_hand.carrier_verdicts.insert(phone.to_owned(), verdict);
        }
        assert_eq!(carrier.carrier_verdicts, by_hand.carrier_verdicts);
        assert_eq!(carrier.carrier("+1c").ok(), Some(Carrier::Sendable));
        // No validation result: the provider was not asked.
        assert_eq!(carrier.validate("+1a"), Err(ProviderError));

        let directory = DirectoryMap::from_rows(
            vec!["+1a".to_owned()],
            vec![("+1a", "+1800"), ("+1a", "+1801"), ("+1b", "+1800")],
        );
        let mut by_hand = DirectoryMap::default();
        by_hand.contact_phones.insert("+1a".to_owned());
        for (phone, list) in [("+1a", "+1800"), ("+1a", "+1801"), ("+1b", "+1800")] {
            by_hand.add_membership(phone, list);
        }
        assert_eq!(directory.contact_phones, by_hand.contact_phones);
        assert_eq!(
            directory.list_numbers_by_phone,
            by_hand.list_numbers_by_phone
        );
        assert_eq!(directory.contact_exists("+1b").ok(), Some(false));
        assert_eq!(directory.is_member("+1b", "+1800").ok(), Some(true));
    }
}
