//! The stages after reading: the free lookups of SPEC §4 rules 9 and 10 ([`Batch::screen`]),
//! then the paid validation of rules 11 and 12 and the directory, applied as SPEC §5 says
//! ([`Screened::evaluate`]).
//!
//! Each stage is a value, so that a server can do its I/O between two of them, and no rule
//! runs twice: the [`Screened`] batch both names the numbers to validate and evaluates. One
//! record per contact is made by the screen and completed, in place, by the evaluation, which
//! then owns it; everything else is borrowed from the [`Batch`].

use crate::batch::Batch;
use crate::codes::ContactError;
use crate::hashing::{self, FirstSeen, Map, Recall};
use crate::lookup::{
    Carrier, CarrierCheck, Directory, ListLookup, LookupError, ProviderError, SendingList,
    ValidationResult,
};
use crate::rules::Valid;
use crate::summary::{Applied, Evaluation, Outcome};

impl<'a> Batch<'a> {
    /// SPEC §4 rules 9 and 10 for every contact that passed rules 1 to 8: all list lookups,
    /// then all carrier verdicts ([`CarrierCheck::carrier`] only), each distinct key once. A
    /// failed lookup ends the batch (500 `internal_error`) before anything is paid for.
    pub fn screen<'b>(
        &'b self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
    ) -> Result<Screened<'b>, LookupError> {
        let mut found: Recall<'_, Option<SendingList>> = Recall::default();
        let mut outcomes = Vec::with_capacity(self.len());
        for (index, check) in self.checks().iter().enumerate() {
            outcomes.push(match check {
                Err(error) => Outcome::Failed(error.clone()),
                Ok(valid) => match found.get_or(&valid.list, |k| lists.list(k))? {
                    None => Outcome::Failed(ContactError::ListNotFound),
                    Some(list) => Outcome::Passed(Applied::screened(index, list)),
                },
            });
        }
        // Each distinct number asked once, in index order: a number already asked about has
        // the verdict of its first contact, which that contact's outcome now says.
        let checks = self.checks();
        let passed = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Outcome::Passed(_)))
            .count();
        let mut phones = FirstSeen::with_capacity(passed);
        let phone_of = |i: usize| checks.get(i).and_then(|c| c.as_ref().ok()).map(phone);
        for (index, check) in checks.iter().enumerate() {
            let (Some(Outcome::Passed(_)), Ok(valid)) = (outcomes.get(index), check) else {
                continue;
            };
            let first = phones.first_or_insert(index, Some(phone(valid)), phone_of);
            let sendable = if first == index {
                carrier.carrier(phone(valid))? != Carrier::NotSendable
            } else {
                let verdict = outcomes.get(first);
                debug_assert!(
                    matches!(
                        verdict,
                        Some(Outcome::Passed(_) | Outcome::Failed(ContactError::NotSendable))
                    ),
                    "contact {first} was screened: {verdict:?}"
                );
                matches!(verdict, Some(Outcome::Passed(_)))
            };
            if !sendable && let Some(outcome) = outcomes.get_mut(index) {
                *outcome = Outcome::Failed(ContactError::NotSendable);
            }
        }
        Ok(Screened {
            batch: self,
            outcomes,
        })
    }

    /// [`Batch::screen`] then [`Screened::evaluate`], for lookups that can answer anything
    /// when asked (synchronous ones, or maps holding everything). A failed list, carrier or
    /// directory lookup is the error, to be answered with 500 `internal_error`.
    pub fn evaluate<'b>(
        &'b self,
        lists: &impl ListLookup,
        carrier: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Result<Evaluation<'b>, LookupError> {
        self.screen(lists, carrier)?.evaluate(carrier, directory)
    }
}

/// A batch after rules 9 and 10 ([`Batch::screen`]): which contacts still need the paid
/// validation, and the last stage.
///
/// A server that fetches asynchronously asks [`Screened::validation_keys`], has those numbers
/// validated (and paid for) in one round trip, then calls [`Screened::evaluate`] with the
/// results in a [`CarrierValidationMap`](crate::CarrierValidationMap).
#[derive(Debug, Clone)]
pub struct Screened<'b> {
    batch: &'b Batch<'b>,
    /// One per contact: failed, or passed rules 1 to 10 (with its list) and not applied yet.
    outcomes: Vec<Outcome>,
}

impl<'b> Screened<'b> {
    /// The contacts that passed rules 1 to 10, by index.
    fn passed(&self) -> impl Iterator<Item = &'b Valid<'b>> + '_ {
        let checks = self.batch.checks();
        self.outcomes
            .iter()
            .zip(checks)
            .filter_map(|(outcome, check)| match (outcome, check) {
                (Outcome::Passed(_), Ok(valid)) => Some(valid),
                _ => None,
            })
    }

    /// The distinct numbers the paid validation will be asked about, in order of first
    /// appearance: those of contacts with `use_validation` that passed rules 1 to 10 (SPEC §7).
    /// Nothing else is ever validated, so nothing else is paid for.
    pub fn validation_keys(&self) -> Vec<&'b str> {
        let mut seen = hashing::set(0);
        self.passed()
            .filter(|valid| valid.flags.use_validation)
            .map(|valid| valid.phone.as_ref())
            .filter(|phone| seen.insert(*phone))
            .collect()
    }

    /// SPEC §4 rules 11 and 12 ([`CarrierCheck::validate`] only, each number once) and the
    /// accepted contacts applied against the `directory` (SPEC §5), contact by contact in index
    /// order. A failed directory lookup is the error, to be answered with 500
    /// `internal_error` (the contacts after it are not validated); a provider failure is the
    /// contact's `provider_error`.
    pub fn evaluate(
        self,
        validator: &impl CarrierCheck,
        directory: &impl Directory,
    ) -> Result<Evaluation<'b>, LookupError> {
        let Screened {
            batch,
            mut outcomes,
        } = self;
        let checks = batch.checks();
        let passed = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Outcome::Passed(_)))
            .count();
        let mut validations: Map<&str, Result<ValidationResult, ProviderError>> = hashing::map(0);
        // The first accepted contact of each phone number, and of each (phone, list) pair.
        let mut phones = FirstSeen::with_capacity(passed);
        let mut pairs = FirstSeen::with_capacity(passed);
        let phone_of = |i: usize| checks.get(i).and_then(|c| c.as_ref().ok()).map(phone);
        let pair_of = |i: usize| checks.get(i).and_then(|c| c.as_ref().ok()).map(pair);
        for (index, (outcome, check)) in outcomes.iter_mut().zip(checks).enumerate() {
            let Outcome::Passed(applied) = outcome else {
                continue;
            };
            let valid = match check {
                Ok(valid) => valid,
                Err(error) => {
                    // Not reached: only a contact that passed rules 1 to 8 passes the screen.
                    debug_assert!(false, "contact {index} passed the screen, not the rules");
                    *outcome = Outcome::Failed(error.clone());
                    continue;
                }
            };
            if valid.flags.use_validation {
                let result = validations
                    .entry(phone(valid))
                    .or_insert_with_key(|phone| validator.validate(phone));
                match result {
                    Err(_) => {
                        *outcome = Outcome::Failed(ContactError::ProviderError);
                        continue;
                    }
                    Ok(result) if result.disposition.fails() => {
                        *outcome = Outcome::Failed(ContactError::ValidationFailed(Box::new(
                            result.clone(),
                        )));
                        continue;
                    }
                    Ok(result) => applied.validation = Some(Box::new(result.clone())),
                }
            }
            // SPEC §5: applied in index order, each against the store and the contacts
            // accepted before it.
            let first_of_phone = phones.first_or_insert(index, Some(phone(valid)), phone_of);
            applied.is_new_contact =
                first_of_phone == index && !directory.contact_exists(phone(valid))?;
            applied.first_of_pair = pairs.first_or_insert(index, Some(pair(valid)), pair_of);
            applied.is_new_list_contact = applied.first_of_pair == index && {
                let (phone, list) = pair(valid);
                !directory.is_member(phone, list)?
            };
            let enrolls = valid.flags.use_journeys
                && (applied.is_new_list_contact || !valid.flags.skip_journey_if_exists);
            applied.journeys = if enrolls {
                applied.list.welcome_journeys
            } else {
                0
            };
        }
        Ok(Evaluation::new(batch, outcomes))
    }
}

fn phone<'v>(valid: &'v Valid<'_>) -> &'v str {
    valid.phone.as_ref()
}

fn pair<'v>(valid: &'v Valid<'_>) -> (&'v str, &'v str) {
    (valid.phone.as_ref(), valid.list.as_ref())
}
