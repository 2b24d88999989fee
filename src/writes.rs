//! What a store writes for an evaluation: the accepted contacts turned into rows, by the rules
//! [`AcceptedContact`] states, grouped so that a store can write a whole batch in a few
//! multi-row statements (the rows behind SPEC §5's counters).

use std::borrow::Cow;
use std::hash::Hash;

use jiff::Timestamp;

use crate::hashing::{self, Map};
use crate::scan;
use crate::summary::{AcceptedContact, Evaluation};

/// Everything an evaluation writes, ready for statements: the accepted contacts in **rounds**,
/// then the journey enrollments.
///
/// Round *n* holds the *n*-th accepted occurrence of each phone number (its contact row) and
/// of each (phone, list) pair (its membership row). So no round touches a row twice, and a
/// store that applies the rounds in order, and in each round its four parts in field order
/// (insert contacts, update contacts, insert memberships, update memberships), writes every
/// row's values in index order, as [`AcceptedContact`] says: a batch without a repeated phone
/// number is one round. Each part can be one multi-row statement.
///
/// Its inserts are the evaluation's counters: `contacts_created` rows in the
/// `insert_contacts` of all rounds, `list_contacts_created` in the `insert_memberships`, and
/// `journeys_enrolled` [`enrollments`](Self::enrollments). Every update finds its row (it
/// exists in the store, or an earlier round inserted it). A store that checks the rows each
/// statement reports against these lengths finds out when its rows moved under it.
///
/// ```
/// use std::collections::HashMap;
/// use bulk_contacts::{CarrierValidationMap, DirectoryMap, Engine, SendingList, WritePlan};
///
/// let body = br#"{"contacts": [
///     {"phone_number": "+14155550000", "list_number": "+18005551234", "custom_fields": {"a": 1}},
///     {"phone_number": "+14155550000", "list_number": "+18005551234", "custom_fields": {"b": 2},
///      "use_journeys": true, "skip_journey_if_exists": false}
/// ]}"#;
/// let batch = Engine::default().read(body, "2025-06-01T00:00:00Z".parse()?)?;
/// let lists = HashMap::from([("+18005551234".to_owned(), SendingList { welcome_journeys: 1 })]);
/// let directory = DirectoryMap::default(); // an empty store
/// let evaluation = batch.evaluate(&lists, &CarrierValidationMap::default(), &directory)?;
/// let plan = WritePlan::new(&evaluation);
///
/// // Round 0 inserts the contact and its membership; round 1, the repeat, updates both.
/// assert_eq!(plan.rounds.len(), 2);
/// let (first, second) = (&plan.rounds[0], &plan.rounds[1]);
/// assert_eq!(first.insert_contacts[0].phone, "+14155550000");
/// assert_eq!(first.insert_memberships[0].custom_fields, r#"{"a": 1}"#); // as sent
/// assert_eq!(second.update_contacts[0].index, 1);
/// assert_eq!(second.update_memberships[0].custom_fields, r#"{"b": 2}"#);
/// assert!(!second.update_memberships[0].replace); // merged into {"a":1}
/// // The repeat re-enrolls (skip_journey_if_exists: false): journey 1 of the list.
/// assert_eq!(plan.enrollments.len(), 1);
/// assert_eq!((plan.enrollments[0].index, plan.enrollments[0].journey), (1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan<'b> {
    /// The rounds, in the order to apply them.
    pub rounds: Vec<WriteRound<'b>>,
    /// Every journey enrollment, in index order (after the rounds: its membership exists).
    pub enrollments: Vec<Enrollment<'b>>,
}

/// One round of a [`WritePlan`]: at most one row per contact and one per membership.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteRound<'b> {
    /// Contacts to insert: the first accepted occurrence of a phone with
    /// [`is_new_contact`](AcceptedContact::is_new_contact).
    pub insert_contacts: Vec<ContactWrite<'b>>,
    /// Contacts to update: the phone has a contact (in the store, or inserted by an earlier
    /// round). Keep its `signup_date`; `ip_address`, `url` and `validation` replace the stored
    /// ones when present and keep them when absent; `other_members` is merged into the
    /// stored ones (a member sent now replaces the stored one of the same name).
    pub update_contacts: Vec<ContactWrite<'b>>,
    /// Memberships to insert: the first accepted occurrence of a (phone, list) pair with
    /// [`is_new_list_contact`](AcceptedContact::is_new_list_contact).
    pub insert_memberships: Vec<MembershipInsert<'b>>,
    /// Custom fields sent for an existing membership (a contact without `custom_fields` has
    /// none here: the stored fields stay as they are, whatever `replace_custom_fields`).
    pub update_memberships: Vec<CustomFieldsUpdate<'b>>,
}

/// A contact row to insert, or the values to update an existing one with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactWrite<'b> {
    /// The accepted contact's index in `contacts`.
    pub index: usize,
    /// The canonical phone number (the row's key).
    pub phone: &'b str,
    /// `signup_date` in UTC, `now` when absent (written on insert only).
    pub signup_date: Timestamp,
    /// `ip_address`, when sent.
    pub ip_address: Option<&'b str>,
    /// `url`, when sent.
    pub url: Option<&'b str>,
    /// The other members as sent, a JSON object's text: `{}`, borrowed, when the contact
    /// [has none](AcceptedContact::has_other_members); otherwise
    /// [`AcceptedContact::other_members_map`], serialized.
    pub other_members: Cow<'b, str>,
    /// The paid validation's result as JSON text (its `cost` as the provider wrote it), when
    /// the contact was validated.
    pub validation: Option<String>,
}

/// A membership row to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipInsert<'b> {
    /// The accepted contact's index in `contacts`.
    pub index: usize,
    /// The canonical phone number.
    pub phone: &'b str,
    /// The canonical list number.
    pub list_number: &'b str,
    /// `custom_fields` as a JSON object's text, `{}` when absent: the text sent or
    /// `serde_json`'s, as [`CustomFieldsUpdate::custom_fields`] says.
    pub custom_fields: Cow<'b, str>,
    /// `signup_date` in UTC, `now` when absent.
    pub signup_date: Timestamp,
}

/// Custom fields sent for an existing membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldsUpdate<'b> {
    /// The accepted contact's index in `contacts`.
    pub index: usize,
    /// The canonical phone number.
    pub phone: &'b str,
    /// The canonical list number.
    pub list_number: &'b str,
    /// `custom_fields` as sent, a JSON object's text (string, number and boolean values).
    ///
    /// Borrowed from the body, whitespace and member order as sent, when `serde_json` would
    /// write back each of its tokens unchanged: no repeated name, no escape in a name or
    /// string, every number already in `serde_json`'s form (`7`, `1.5`; not `1.50`, `1e2`,
    /// `-0`), at most 16 members. Otherwise `serde_json`'s text of what it reads (a repeated
    /// name keeps its last value, escapes decoded, numbers rewritten, names sorted).
    ///
    /// Both mean the same object to any JSON reader, and a store that parses the text
    /// (PostgreSQL's `::jsonb`, SQLite's `json()` and `json_patch`, which drop the whitespace)
    /// holds the same members and values either way; only the order of the members in SQLite's
    /// text may differ. Borrowing what `serde_json` would rewrite would not be: SQLite keeps a
    /// repeated name twice (and `->>` finds the first), `json_patch` compares names as written
    /// (`"\u0061"` is not `"a"`), PostgreSQL's `numeric` keeps the digits sent
    /// (`12345678901234567890123`, where `serde_json` writes `1.2345678901234568e+22`).
    pub custom_fields: Cow<'b, str>,
    /// `replace_custom_fields`: replace the stored fields with these; otherwise merge these
    /// into them (a field sent replaces the stored one of the same name, the others stay).
    pub replace: bool,
}

impl CustomFieldsUpdate<'_> {
    /// The custom fields a membership holding `held` (a JSON object's text, as the store reads
    /// it back) holds after this update, or `None` when they would not change.
    ///
    /// The merge is the rule of SPEC §5 for scalar values (rule 8), RFC 7396's merge patch
    /// there: a field sent replaces the held one of the same name, in its place; the others
    /// stay, and the new ones follow in the order sent (SQLite's `json_patch`, PostgreSQL's
    /// `jsonb ||` read back). With [`replace`](Self::replace) the fields sent are the result.
    /// Names are compared decoded (`"\u0061"` is `"a"`), values as their JSON text: the same
    /// text is the same value, so "would not change" is never wrong; a value written
    /// differently but equal (`1.0` held, `1` sent) counts as a change, and is rewritten as
    /// sent. A repeated name keeps its last value, as PostgreSQL's `jsonb` reads it.
    ///
    /// Both texts are read by the crate's own JSON reader, which accepts what `serde_json`
    /// accepts ([`NotAnObject`] otherwise: a number past `f64`'s range too).
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use bulk_contacts::CustomFieldsUpdate;
    ///
    /// let update = |sent: &'static str, replace| CustomFieldsUpdate {
    ///     index: 0,
    ///     phone: "+14155550000",
    ///     list_number: "+18005551234",
    ///     custom_fields: Cow::Borrowed(sent),
    ///     replace,
    /// };
    /// let held = r#"{"a": 1, "b": "x"}"#;
    /// let merge = update(r#"{"c": true, "b": "y"}"#, false);
    /// let merged = merge.applied_to(held).unwrap();
    /// assert_eq!(merged.as_deref(), Some(r#"{"a":1,"b":"y","c":true}"#));
    /// assert_eq!(update(r#"{"b": "x"}"#, false).applied_to(held).unwrap(), None);
    /// let replace = update(r#"{"b": "x"}"#, true);
    /// assert_eq!(replace.applied_to(held).unwrap().as_deref(), Some(r#"{"b": "x"}"#));
    /// ```
    pub fn applied_to(&self, held: &str) -> Result<Option<Cow<'_, str>>, NotAnObject> {
        let sent = &*self.custom_fields;
        let held_members = scan::object_members(held).map_err(|_| NotAnObject::Held)?;
        let sent_members = scan::object_members(sent).map_err(|_| NotAnObject::Sent)?;
        let value_of = |name: &str| {
            held_members
                .iter()
                .find(|(held, _)| held == name)
                .map(|(_, value)| *value)
        };
        let unchanged = sent_members
            .iter()
            .all(|(name, value)| value_of(name) == Some(*value));
        if unchanged && (!self.replace || held_members.len() == sent_members.len()) {
            return Ok(None);
        }
        if self.replace {
            return Ok(Some(Cow::Borrowed(sent)));
        }
        let mut merged = held_members;
        for (name, value) in sent_members {
            scan::set_member(&mut merged, name, value);
        }
        let mut text = String::with_capacity(held.len() + sent.len());
        text.push('{');
        for (i, (name, value)) in merged.into_iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            match name {
                // Read without an escape, so it needs none: its text as it was.
                Cow::Borrowed(name) => {
                    text.push('"');
                    text.push_str(name);
                    text.push('"');
                }
                Cow::Owned(name) => text.push_str(&serde_json::Value::String(name).to_string()),
            }
            text.push(':');
            text.push_str(value);
        }
        text.push('}');
        Ok(Some(Cow::Owned(text)))
    }
}

/// Custom fields that are not one JSON object ([`CustomFieldsUpdate::applied_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAnObject {
    /// The fields the store holds.
    #[error("the stored custom fields are not a JSON object")]
    Held,
    /// The fields sent.
    #[error("the sent custom fields are not a JSON object")]
    Sent,
}

/// One journey enrollment (one row per enrollment event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment<'b> {
    /// The accepted contact's index in `contacts`.
    pub index: usize,
    /// The canonical phone number.
    pub phone: &'b str,
    /// The canonical list number.
    pub list_number: &'b str,
    /// The journey, 1 to the list's number of welcome journeys.
    pub journey: u32,
}

impl<'b> WritePlan<'b> {
    /// The plan of `evaluation`'s accepted contacts (see [`WritePlan`]).
    pub fn new(evaluation: &Evaluation<'b>) -> WritePlan<'b> {
        let counts = evaluation.counts();
        // The inserts' counts are the summary's: every new contact and new membership is
        // inserted in the first round (which an accepted contact always opens), every
        // enrollment at the end.
        let first = WriteRound {
            insert_contacts: Vec::with_capacity(counts.contacts_created),
            insert_memberships: Vec::with_capacity(counts.list_contacts_created),
            ..WriteRound::default()
        };
        let mut plan = WritePlan {
            rounds: if counts.success_count > 0 {
                vec![first]
            } else {
                Vec::new()
            },
            enrollments: Vec::with_capacity(usize::try_from(counts.journeys_enrolled).unwrap_or(0)),
        };
        // When every accepted contact is a new contact, no phone number repeats: each is in
        // round 0, and no phone needs counting.
        let phones_repeat = counts.contacts_created < counts.success_count;
        let mut contacts_seen: Map<&str, usize> = hashing::map(if phones_repeat {
            counts.success_count
        } else {
            0
        });
        // A (phone, list) pair repeats exactly in the duplicates, counted by their first.
        let mut duplicates_seen: Map<usize, usize> = hashing::map(0);
        for contact in evaluation.accepted() {
            let (phone, list_number, index) = (contact.phone, contact.list_number, contact.index);
            let row = contact_write(&contact);
            let occurrence = if phones_repeat {
                next(&mut contacts_seen, phone)
            } else {
                0
            };
            let round = plan.round(occurrence);
            if occurrence == 0 && contact.is_new_contact {
                round.insert_contacts.push(row);
            } else {
                round.update_contacts.push(row);
            }

            let fields = contact
                .custom_fields
                .map(|sent| stored_fields(sent, &contact));
            let occurrence = match contact.duplicate_of {
                None => 0,
                Some(first) => 1 + next(&mut duplicates_seen, first),
            };
            let round = plan.round(occurrence);
            if occurrence == 0 && contact.is_new_list_contact {
                round.insert_memberships.push(MembershipInsert {
                    index,
                    phone,
                    list_number,
                    custom_fields: fields.unwrap_or(Cow::Borrowed("{}")),
                    signup_date: contact.signup_date,
                });
            } else if let Some(custom_fields) = fields {
                round.update_memberships.push(CustomFieldsUpdate {
                    index,
                    phone,
                    list_number,
                    custom_fields,
                    replace: contact.flags.replace_custom_fields,
                });
            }
            plan.enrollments
                .extend((1..=contact.journeys).map(|journey| Enrollment {
                    index,
                    phone,
                    list_number,
                    journey,
                }));
        }
        plan
    }

    fn round(&mut self, n: usize) -> &mut WriteRound<'b> {
        if self.rounds.len() <= n {
            self.rounds.resize_with(n + 1, WriteRound::default);
        }
        &mut self.rounds[n]
    }
}

fn contact_write<'b>(contact: &AcceptedContact<'b>) -> ContactWrite<'b> {
    ContactWrite {
        index: contact.index,
        phone: contact.phone,
        signup_date: contact.signup_date,
        ip_address: contact.ip_address,
        url: contact.url,
        other_members: if contact.has_other_members() {
            Cow::Owned(serde_json::Value::Object(contact.other_members_map()).to_string())
        } else {
            Cow::Borrowed("{}")
        },
        validation: contact.validation.as_ref().map(|result| {
            // Strings, booleans, unit enums and the cost's raw JSON number: serde_json
            // serializes these into memory without a possible error.
            serde_json::to_string(result)
                .unwrap_or_else(|error| unreachable!("a validation result serializes: {error}"))
        }),
    }
}

/// The text of `custom_fields` (`sent`) for a store: borrowed when `serde_json` would write
/// back each of its tokens unchanged, else `serde_json`'s (see
/// [`CustomFieldsUpdate::custom_fields`]).
fn stored_fields<'b>(sent: &'b str, contact: &AcceptedContact<'b>) -> Cow<'b, str> {
    if scan::written_as_sent(sent) {
        return Cow::Borrowed(sent);
    }
    let fields = contact.custom_fields_map().unwrap_or_default();
    Cow::Owned(serde_json::Value::Object(fields).to_string())
}

/// How many times `key` was seen before (and counts this time).
fn next<K: Hash + Eq>(seen: &mut Map<K, usize>, key: K) -> usize {
    let count = seen.entry(key).or_insert(0);
    *count += 1;
    *count - 1
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::engine::Engine;
    use crate::lookup::{CarrierValidationMap, DirectoryMap, SendingList, ValidationResult};

    const PHONES: [&str; 4] = [
        "+14155550000",
        "+14155550001",
        "+14155550002",
        "+14155550003",
    ];
    const LISTS: [&str; 2] = ["+18005551234", "+18005550000"];

    /// A contact of the generated batches: which phone and list, the flags, custom fields.
    #[derive(Debug, Clone)]
    struct Sent {
        phone: usize,
        list: usize,
        use_journeys: bool,
        skip: bool,
        replace: bool,
        fields: Option<u8>,
        validate: bool,
        invalid: bool,
    }

    fn sent() -> impl Strategy<Value = Sent> {
        (
            0..PHONES.len(),
            0..LISTS.len(),
            any::<[bool; 5]>(),
            proptest::option::of(any::<u8>()),
        )
            .prop_map(|(phone, list, flags, fields)| Sent {
                phone,
                list,
                use_journeys: flags[0],
                skip: flags[1],
                replace: flags[2],
                fields,
                validate: flags[3],
                // One contact in about eight is rejected (rule 5): it writes nothing.
                invalid: flags[4] && fields.is_some_and(|f| f % 4 == 0),
            })
    }

    fn body(contacts: &[Sent]) -> Vec<u8> {
        let contacts: Vec<serde_json::Value> = contacts
            .iter()
            .map(|c| {
                let mut contact = serde_json::json!({
                    "phone_number": if c.invalid { "415-555" } else { PHONES[c.phone] },
                    "list_number": LISTS[c.list],
                    "use_journeys": c.use_journeys,
                    "skip_journey_if_exists": c.skip,
                    "replace_custom_fields": c.replace,
                    "use_validation": c.validate,
                    "source": c.phone,
                });
                if let Some(f) = c.fields {
                    contact["custom_fields"] = serde_json::json!({ "f": f });
                }
                contact
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({ "contacts": contacts })).expect("json")
    }

    proptest! {
        #[test]
        fn the_plan_writes_each_accepted_contact_once_in_index_order_and_inserts_the_counters(
            contacts in proptest::collection::vec(sent(), 1..24),
            existing in proptest::collection::vec((0..PHONES.len(), proptest::option::of(0..LISTS.len())), 0..6),
            journeys in 0u32..3,
        ) {
            let body = body(&contacts);
            let batch = Engine::default().read(&body, Timestamp::UNIX_EPOCH).expect("batch");
            let lists: HashMap<String, SendingList> = LISTS
                .iter()
                .map(|l| (l.to_string(), SendingList { welcome_journeys: journeys }))
                .collect();
            let mut carrier = CarrierValidationMap::default();
            carrier.extend(PHONES.map(|p| (p, Ok(ValidationResult::ok(p)))));
            let directory = DirectoryMap::from_rows(
                existing.iter().map(|(p, _)| PHONES[*p]),
                existing.iter().filter_map(|(p, l)| Some((PHONES[*p], LISTS[(*l)?]))),
            );
            let evaluation = batch.evaluate(&lists, &carrier, &directory).expect("evaluation");
            let plan = WritePlan::new(&evaluation);
            let counts = evaluation.counts();

            // The inserts are the counters.
            let sum = |f: fn(&WriteRound<'_>) -> usize| plan.rounds.iter().map(f).sum::<usize>();
            prop_assert_eq!(sum(|r| r.insert_contacts.len()), counts.contacts_created);
            prop_assert_eq!(sum(|r| r.insert_memberships.len()), counts.list_contacts_created);
            prop_assert_eq!(plan.enrollments.len() as u64, counts.journeys_enrolled);

            // Each accepted contact has exactly one contact row, in the round of its phone's
            // occurrence; no round touches a contact or a membership twice; every update
            // finds a row inserted in an earlier round or present in the store.
            let accepted: Vec<_> = evaluation.accepted().collect();
            let mut rows: Vec<usize> = Vec::new();
            let mut inserted: HashSet<&str> = HashSet::new();
            let mut members: HashSet<(&str, &str)> = HashSet::new();
            for round in &plan.rounds {
                let mut phones = HashSet::new();
                for row in round.insert_contacts.iter().chain(&round.update_contacts) {
                    prop_assert!(phones.insert(row.phone), "{} twice in a round", row.phone);
                    rows.push(row.index);
                }
                for row in &round.update_contacts {
                    prop_assert!(inserted.contains(row.phone) || directory.contact_phones.contains(row.phone));
                }
                inserted.extend(round.insert_contacts.iter().map(|row| row.phone));
                let mut pairs = HashSet::new();
                for row in &round.insert_memberships {
                    prop_assert!(pairs.insert((row.phone, row.list_number)));
                    prop_assert!(inserted.contains(row.phone) || directory.contact_phones.contains(row.phone));
                }
                for row in &round.update_memberships {
                    prop_assert!(pairs.insert((row.phone, row.list_number)));
                    let stored = directory.list_numbers_by_phone.get(row.phone)
                        .is_some_and(|lists| lists.contains(row.list_number));
                    prop_assert!(stored || members.contains(&(row.phone, row.list_number)));
                }
                members.extend(round.insert_memberships.iter().map(|row| (row.phone, row.list_number)));
            }
            rows.sort_unstable();
            prop_assert_eq!(rows, accepted.iter().map(|c| c.index).collect::<Vec<_>>());

            // A membership row for each accepted contact with custom fields or a new
            // membership, carrying its fields and flag; enrollments in index order.
            let updates: Vec<_> = plan.rounds.iter().flat_map(|r| &r.update_memberships).collect();
            for contact in &accepted {
                let fields = contact.custom_fields_map().map(|f| serde_json::Value::Object(f).to_string());
                let update = updates.iter().find(|u| u.index == contact.index);
                if contact.is_new_list_contact {
                    prop_assert!(update.is_none());
                } else {
                    prop_assert_eq!(update.map(|u| (u.custom_fields.to_string(), u.replace)),
                        fields.map(|f| (f, contact.flags.replace_custom_fields)));
                }
            }
            let enrolled: Vec<_> = plan.enrollments.iter().map(|e| (e.index, e.journey)).collect();
            let expected: Vec<_> = accepted.iter()
                .flat_map(|c| (1..=c.journeys).map(move |j| (c.index, j)))
                .collect();
            prop_assert_eq!(enrolled, expected);
        }
    }

    #[test]
    fn a_contact_row_carries_its_members_and_validation_as_json_text() {
        let body = br#"{"contacts": [{"phone_number": "+14155550000", "list_number": "+18005551234",
            "ip_address": "192.0.2.1", "url": "https://example.com/a", "use_validation": true,
            "ad_network_source": "x", "z": [1, {"b": null}], "signup_date": "2025-03-15T14:30:00+02:00"}]}"#;
        let now: Timestamp = "2025-06-01T00:00:00Z".parse().expect("now");
        let batch = Engine::default().read(body, now).expect("batch");
        let lists = HashMap::from([("+18005551234".to_owned(), SendingList::default())]);
        let mut carrier = CarrierValidationMap::default();
        let mut result = ValidationResult::ok("+14155550000");
        result.cost = "1.50".parse().expect("cost");
        carrier.extend([("+14155550000", Ok(result))]);
        let evaluation = batch
            .evaluate(&lists, &carrier, &DirectoryMap::default())
            .expect("evaluation");
        let plan = WritePlan::new(&evaluation);
        let row = &plan.rounds[0].insert_contacts[0];
        assert_eq!(row.ip_address, Some("192.0.2.1"));
        assert_eq!(row.url, Some("https://example.com/a"));
        assert_eq!(row.signup_date.to_string(), "2025-03-15T12:30:00Z");
        assert_eq!(
            row.other_members,
            r#"{"ad_network_source":"x","z":[1,{"b":null}]}"#
        );
        let validation = row.validation.as_deref().expect("validated");
        assert!(validation.contains(r#""cost":1.50"#), "{validation}");
        let membership = &plan.rounds[0].insert_memberships[0];
        assert_eq!(membership.custom_fields, "{}");
        assert!(plan.enrollments.is_empty());
    }

    /// The one contact of `{"contacts": [{numbers, members}]}`, accepted, in the plan: its
    /// contact row and its membership's custom fields, and what `serde_json` writes for its
    /// `custom_fields` and other members (the plan's text before it borrowed: the oracle).
    fn planned(members: &str, existing_membership: bool) -> (String, String, String, String) {
        let body = format!(
            r#"{{"contacts": [{{"phone_number": "+14155550000", "list_number": "+18005551234"{members}}}]}}"#
        );
        let batch = Engine::default()
            .read(body.as_bytes(), Timestamp::UNIX_EPOCH)
            .expect("batch");
        let lists = HashMap::from([("+18005551234".to_owned(), SendingList::default())]);
        let directory = if existing_membership {
            DirectoryMap::from_rows(["+14155550000"], [("+14155550000", "+18005551234")])
        } else {
            DirectoryMap::default()
        };
        let evaluation = batch
            .evaluate(&lists, &CarrierValidationMap::default(), &directory)
            .expect("evaluation");
        let contact = evaluation.accepted().next().expect("accepted");
        let plan = WritePlan::new(&evaluation);
        let round = &plan.rounds[0];
        let row = round
            .insert_contacts
            .iter()
            .chain(&round.update_contacts)
            .next();
        let row = row.expect("a contact row");
        let fields = match (
            round.insert_memberships.first(),
            round.update_memberships.first(),
        ) {
            (Some(insert), None) => &insert.custom_fields,
            (None, Some(update)) => &update.custom_fields,
            other => panic!("one membership row: {other:?}"),
        };
        // Borrowed text is the body's own bytes, not a copy.
        let within = |text: &str| body.as_bytes().as_ptr_range().contains(&text.as_ptr());
        if let Cow::Borrowed(text) = fields
            && *text != "{}"
        {
            assert!(within(text), "{text} borrowed from the body");
        }
        let canonical = |map: serde_json::Map<String, serde_json::Value>| {
            serde_json::Value::Object(map).to_string()
        };
        // The oracle: the contact read whole by serde_json, the names the rules read dropped.
        let mut others: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(contact.json()).expect("a contact");
        others.retain(|name, _| crate::member::Member::from_name(name).is_none());
        (
            fields.to_string(),
            canonical(contact.custom_fields_map().unwrap_or_default()),
            row.other_members.to_string(),
            match &row.other_members {
                Cow::Borrowed(_) => String::new(),
                Cow::Owned(_) => canonical(others),
            },
        )
    }

    /// A JSON name token of custom fields: a few names, so that they repeat, some escaped.
    fn name_token() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            r#""a""#,
            r#""b""#,
            r#""first_name""#,
            r#""a!""#,
            r#""é""#,
            r#""\u0061""#,
            r#""b\"q""#,
            r#""a\n""#,
        ])
    }

    /// A number token of any shape JSON allows (within `f64`'s range).
    fn number_token() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,24}"],
            proptest::option::of("[0-9]{1,4}"),
            proptest::option::of(("[eE]", "[-+]?", "[0-9]{1,2}")),
        )
            .prop_map(|(negative, integer, fraction, exponent)| {
                let mut number = format!("{}{integer}", if negative { "-" } else { "" });
                if let Some(fraction) = fraction {
                    number.push('.');
                    number.push_str(&fraction);
                }
                if let Some((e, sign, digits)) = exponent {
                    number.push_str(&format!("{e}{sign}{digits}"));
                }
                number
            })
    }

    /// A value token of custom fields: a string (some escaped), a boolean or a number.
    fn value_token() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(vec![
                r#""Jane""#,
                r#""""#,
                r#""é €""#,
                r#""x\ny""#,
                r#""\u00e9""#,
                r#""\/""#,
                r#""a\"b""#,
                "true",
                "false",
            ])
            .prop_map(str::to_owned),
            number_token(),
        ]
    }

    fn space() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec!["", "", " ", "\n", "\t ", "\r\n  "])
    }

    /// Custom fields as a client may send them: the members (name and value tokens) and the
    /// text, with whitespace anywhere between tokens.
    fn custom_fields() -> impl Strategy<Value = (Vec<(&'static str, String)>, String)> {
        let member = (
            space(),
            name_token(),
            space(),
            space(),
            value_token(),
            space(),
        );
        (proptest::collection::vec(member, 0..6), space()).prop_map(|(members, inner)| {
            let text = if members.is_empty() {
                format!("{{{inner}}}")
            } else {
                let written: Vec<String> = members
                    .iter()
                    .map(|(s0, name, s1, s2, value, s3)| format!("{s0}{name}{s1}:{s2}{value}{s3}"))
                    .collect();
                format!("{{{}}}", written.join(","))
            };
            let tokens = members
                .into_iter()
                .map(|(_, name, _, _, value, _)| (name, value))
                .collect();
            (tokens, text)
        })
    }

    proptest! {
        #[test]
        fn the_custom_fields_text_is_the_object_serde_json_reads_and_borrowed_only_when_serde_json_writes_each_token_back_unchanged(
            (tokens, sent) in custom_fields(),
            existing in any::<bool>(),
        ) {
            let (planned, canonical, _, _) =
                planned(&format!(r#", "custom_fields": {sent}"#), existing);
            let read = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("JSON");
            prop_assert_eq!(read(&planned), read(&canonical));
            // Borrowed exactly when each token is as serde_json writes it, each name once.
            let written_back = |value: &str| match value.as_bytes().first() {
                Some(b'"') => !value.contains('\\'),
                Some(b't' | b'f') => true,
                _ => serde_json::from_str::<serde_json::Number>(value)
                    .is_ok_and(|number| number.to_string() == value),
            };
            let names: HashSet<&str> = tokens.iter().map(|(name, _)| *name).collect();
            let as_sent = tokens.len() <= 16
                && names.len() == tokens.len()
                && tokens.iter().all(|(name, value)| !name.contains('\\') && written_back(value));
            prop_assert_eq!(&planned, if as_sent { &sent } else { &canonical });
            if planned != canonical {
                prop_assert_eq!(&planned, &sent);
                // Borrowed: the tokens sent, whitespace dropped and ordered by name as
                // serde_json orders them, are serde_json's text byte for byte — what SQLite
                // and PostgreSQL parse from either is the same object.
                let mut members: Vec<(String, &str, &str)> = tokens
                    .iter()
                    .map(|(name, value)| {
                        let decoded = serde_json::from_str::<String>(name).expect("a name");
                        (decoded, *name, value.as_str())
                    })
                    .collect();
                members.sort_by(|a, b| a.0.cmp(&b.0));
                let compact: Vec<String> =
                    members.iter().map(|(_, name, value)| format!("{name}:{value}")).collect();
                prop_assert_eq!(format!("{{{}}}", compact.join(",")), canonical);
            }
        }

        #[test]
        fn the_other_members_text_is_serde_json_s_unknown_members_and_borrowed_only_when_there_are_none(
            members in proptest::collection::vec((space(), proptest::sample::select(vec![
                r#""ad_network_source": "x""#,
                r#""z": [1, {"b": null}]"#,
                r#""\u0061d": 1.50"#,
                r#""x": null"#,
                r#""x": {}"#,
                r#""use_j\u006furneys": true"#,
                r#""url": "https://example.com/a""#,
                r#""custom_fields": {"a": 1}"#,
                r#""signup_date": null"#,
            ])), 0..5),
        ) {
            let written: String = members.iter().map(|(s, m)| format!(",{s}{m}")).collect();
            let (_, _, other_members, oracle) = planned(&written, false);
            if oracle.is_empty() {
                // Borrowed: only when the contact has no member the rules do not read.
                let unknown = ["ad_network_source", "\"z\"", "\\u0061d", "\"x\""];
                prop_assert!(!unknown.iter().any(|name| written.contains(name)), "{}", written);
                prop_assert_eq!(other_members, "{}");
            } else {
                prop_assert_eq!(other_members, oracle);
            }
        }
    }

    #[test]
    fn custom_fields_as_serde_json_writes_them_back_are_borrowed_others_rewritten() {
        let fields = |text: &str| planned(&format!(r#", "custom_fields": {text}"#), false).0;
        // The load tool's, and any client's that writes compact JSON: as sent.
        for sent in [
            r#"{"first_name":"Jane","batch":7}"#,
            r#"{ "b" : true , "a" : -12.5 }"#,
            r#"{"big": 12345678901234567890, "é": "€"}"#,
            "{}",
        ] {
            assert_eq!(fields(sent), sent);
        }
        for (sent, canonical) in [
            (r#"{"a": 1, "a": 2}"#, r#"{"a":2}"#),
            (r#"{"\u0061": 1}"#, r#"{"a":1}"#),
            (r#"{"a": "\u00e9"}"#, r#"{"a":"é"}"#),
            (r#"{"a": "\/"}"#, r#"{"a":"/"}"#),
            (r#"{"a": 1.50}"#, r#"{"a":1.5}"#),
            (r#"{"a": 1e2}"#, r#"{"a":100.0}"#),
            (r#"{"a": -0}"#, r#"{"a":-0.0}"#),
            (
                r#"{"a": 12345678901234567890123}"#,
                r#"{"a":1.2345678901234568e+22}"#,
            ),
        ] {
            assert_eq!(fields(sent), canonical, "{sent}");
        }
        let many: Vec<String> = (0..17).map(|i| format!(r#""k{i:02}":{i}"#)).collect();
        let many = format!("{{{}}}", many.join(","));
        assert_eq!(
            fields(&many),
            many,
            "sorted and compact: the same text either way"
        );
        let (planned, canonical) = (fields(&many.replace(':', ": ")), many);
        assert_eq!(planned, canonical, "17 members: serde_json's text");
    }

    /// `held` merged with (or replaced by) `sent`, as text.
    fn updated(held: &str, sent: &str, replace: bool) -> Result<Option<String>, NotAnObject> {
        let update = CustomFieldsUpdate {
            index: 0,
            phone: PHONES[0],
            list_number: "+18005551234",
            custom_fields: Cow::Borrowed(sent),
            replace,
        };
        let applied = update.applied_to(held)?;
        Ok(applied.map(Cow::into_owned))
    }

    fn merged(held: &str, sent: &str) -> Option<String> {
        updated(held, sent, false).expect("both are objects")
    }

    #[test]
    fn a_merge_replaces_in_place_keeps_the_others_and_appends_the_new() {
        assert_eq!(
            merged(r#"{"a": 1, "b": "x", "c": true}"#, r#"{"d": 4, "b": "y"}"#).as_deref(),
            Some(r#"{"a":1,"b":"y","c":true,"d":4}"#)
        );
        assert_eq!(merged("{}", r#"{"a": 1}"#).as_deref(), Some(r#"{"a":1}"#));
        // Whitespace anywhere in either text is left out; a value's own text is kept.
        assert_eq!(
            merged(" {\n\"a\" :\t\"x y\" } ", r#"{ "b" : -1.5e3 }"#).as_deref(),
            Some(r#"{"a":"x y","b":-1.5e3}"#)
        );
    }

    #[test]
    fn a_merge_that_changes_nothing_is_none() {
        assert_eq!(merged(r#"{"a": 1, "b": "x"}"#, r#"{"b":"x"}"#), None);
        assert_eq!(merged(r#"{"a": 1}"#, "{}"), None);
        // Names compare decoded, values as their text.
        assert_eq!(
            merged(r#"{"a": "\u00e9"}"#, r#"{"\u0061": "\u00e9"}"#),
            None
        );
        assert_eq!(
            merged(r#"{"a": 1.0}"#, r#"{"a": 1}"#).as_deref(),
            Some(r#"{"a":1}"#)
        );
    }

    #[test]
    fn a_name_that_needs_escaping_is_written_escaped() {
        assert_eq!(
            merged(r#"{"a\"b": 1}"#, r#"{"c\\d": "e\nf"}"#).as_deref(),
            Some(r#"{"a\"b":1,"c\\d":"e\nf"}"#)
        );
        // A name read with an escape is written as serde_json writes it.
        assert_eq!(
            merged(r#"{"\u0062": 1}"#, r#"{"\u00e9": 2}"#).as_deref(),
            Some(r#"{"b":1,"é":2}"#)
        );
    }

    #[test]
    fn a_repeated_name_keeps_its_first_place_and_its_last_value() {
        assert_eq!(
            merged(r#"{"a": 1, "b": 2, "a": 3}"#, r#"{"c": 4}"#).as_deref(),
            Some(r#"{"a":3,"b":2,"c":4}"#)
        );
        assert_eq!(merged(r#"{"a": 1, "a": 3}"#, r#"{"a": 3}"#), None);
    }

    #[test]
    fn a_replacement_is_the_fields_sent_unless_they_are_the_fields_held() {
        let sent = r#"{"b": 2}"#;
        let replaced = updated(r#"{"a": 1, "b": 2}"#, sent, true).unwrap();
        assert_eq!(replaced.as_deref(), Some(sent));
        assert_eq!(updated(r#"{"b":2}"#, sent, true).unwrap(), None);
        assert_eq!(updated("{}", "{}", true).unwrap(), None);
        assert_eq!(
            updated(r#"{"a": 1}"#, "{}", true).unwrap().as_deref(),
            Some("{}")
        );
    }

    #[test]
    fn fields_that_are_not_one_object_are_an_error_naming_which() {
        for (held, sent, which) in [
            ("[1]", "{}", NotAnObject::Held),
            ("{", "{}", NotAnObject::Held),
            (r#"{"a": 1} {}"#, "{}", NotAnObject::Held),
            (r#"{"a": 1e400}"#, "{}", NotAnObject::Held),
            ("", "{}", NotAnObject::Held),
            ("{}", "1", NotAnObject::Sent),
            ("{}", r#"{"a":}"#, NotAnObject::Sent),
            ("{}", r#"{"a":1,}"#, NotAnObject::Sent),
            ("{}", r#"{a:1}"#, NotAnObject::Sent),
        ] {
            for replace in [false, true] {
                assert_eq!(updated(held, sent, replace), Err(which), "{held} {sent}");
            }
        }
    }

    /// A flat object's text with names and values `serde_json` may read differently from how
    /// they are written (escapes, repeated names, numbers in several forms), and whitespace.
    fn flat_object() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            r#""a""#,
            r#""b""#,
            r#""\u0061""#,
            r#""a\"b""#,
            r#""é""#,
            r#""\u00e9""#,
        ]);
        let value = prop::sample::select(vec![
            "1",
            "1.0",
            "1e0",
            "-0",
            "12345678901234567890123",
            r#""x""#,
            r#""\u0078""#,
            r#""""#,
            "true",
            "false",
        ]);
        let space = prop::sample::select(vec!["", " ", "\n\t"]);
        prop::collection::vec((name, value, space), 0..5).prop_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(name, value, space)| format!("{space}{name}{space}:{space}{value}"))
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    fn read(text: &str) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(text).expect("an object")
    }

    proptest! {
        /// What the update writes is what `serde_json` reads as the held object with the sent
        /// members set over it (RFC 7396 for scalar values), or the sent object when it
        /// replaces; and `None` only when that is the held object already.
        #[test]
        fn an_update_agrees_with_serde_json(
            held in flat_object(), sent in flat_object(), replace in any::<bool>()
        ) {
            let mut expected = if replace { serde_json::Map::new() } else { read(&held) };
            expected.extend(read(&sent));
            match updated(&held, &sent, replace).expect("both are objects") {
                Some(text) => {
                    prop_assert_eq!(read(&text), expected);
                    if replace {
                        prop_assert_eq!(text, sent);
                    }
                }
                None => prop_assert_eq!(read(&held), expected),
            }
        }
    }
}
