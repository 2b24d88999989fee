//! The engine embedded in an axum service over an async store, written from the README alone
//! (its "Embedding in axum" section): the new-user trial of issue 22. The glue — everything
//! between axum and the store — is between the `glue begins` and `glue ends` markers;
//! `python3 tools/trial_glue.py` counts it. `server/tests/embedding.rs` serves it and checks
//! the SPEC's order (401 before 413 for an unauthenticated oversize upload) with real requests.
//!
//! ```text
//! cargo run -p bulk-contacts-server --example axum_service [-- ADDR]   (default 127.0.0.1:3000)
//! curl -s localhost:3000/v2/contacts/bulk -H 'X-Api-Key: trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6' \
//!   --data-binary @examples/request.json
//! ```
//!
//! The store is in memory (a user's would be a database client); it holds one account, the
//! built-in world's of SPEC §8, with its lists scoped by the account's id.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::{Body, HttpBody as _};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response; // axum's; the engine's is imported as `Answer`
use bulk_contacts::Response as Answer;
use bulk_contacts::{
    Account, Carrier, CarrierValidationMap, DirectoryMap, Engine, ProviderError, Rejection,
    SendingList, Timestamp, ValidationResult, WritePlan,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::Mutex;

/// What the store's queries fail with (here: never).
#[derive(Debug)]
pub struct StoreError(String);

/// An async store of many accounts: lists belong to an account, contacts are shared.
#[derive(Debug, Default)]
pub struct Store {
    keys: HashMap<String, u64>,
    accounts: HashMap<u64, Account>,
    lists: HashMap<(u64, String), SendingList>,
    verdicts: HashMap<String, Carrier>,
    contacts: HashSet<String>,
    memberships: HashSet<(u64, String, String)>,
    enrollments: usize,
}

type Rows<T> = Result<Vec<T>, StoreError>;

impl Store {
    /// The built-in world's account (id 1), list and carrier verdict.
    pub fn demo() -> Store {
        let key = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";
        let account = Account {
            api_keys: vec![key.to_owned()],
            ..Account::default()
        };
        Store {
            keys: HashMap::from([(key.to_owned(), 1)]),
            accounts: HashMap::from([(1, account)]),
            lists: HashMap::from([(
                (1, "+18005551234".to_owned()),
                SendingList {
                    welcome_journeys: 1,
                },
            )]),
            verdicts: HashMap::from([("+13105558888".to_owned(), Carrier::NotSendable)]),
            ..Store::default()
        }
    }

    async fn account_by_key(&self, key: &[u8]) -> Result<Option<(u64, Account)>, StoreError> {
        let id = std::str::from_utf8(key).ok().and_then(|k| self.keys.get(k));
        Ok(id.map(|id| (*id, self.accounts[id].clone())))
    }

    async fn lists(&self, account: u64, numbers: &[&str]) -> Rows<(String, SendingList)> {
        let found = numbers.iter().filter_map(|n| {
            let list = self.lists.get(&(account, n.to_string()))?;
            Some((n.to_string(), *list))
        });
        Ok(found.collect())
    }

    async fn carrier_verdicts(&self, phones: &[&str]) -> Rows<(String, Carrier)> {
        let found = phones
            .iter()
            .filter_map(|p| Some((p.to_string(), *self.verdicts.get(*p)?)));
        Ok(found.collect())
    }

    async fn contacts(&self, phones: &[&str]) -> Rows<String> {
        let found = phones.iter().filter(|p| self.contacts.contains(**p));
        Ok(found.map(|p| p.to_string()).collect())
    }

    async fn memberships(&self, account: u64, pairs: &[(&str, &str)]) -> Rows<(String, String)> {
        let found = pairs.iter().filter(|(phone, list)| {
            let key = (account, phone.to_string(), list.to_string());
            self.memberships.contains(&key)
        });
        Ok(found.map(|(p, l)| (p.to_string(), l.to_string())).collect())
    }

    /// The paid validation (a provider's API in a real service): every number is fine.
    async fn validate(
        &self,
        phones: &[&str],
    ) -> Vec<(String, Result<ValidationResult, ProviderError>)> {
        phones
            .iter()
            .map(|p| (p.to_string(), Ok(ValidationResult::ok(p))))
            .collect()
    }

    async fn write(&mut self, account: u64, plan: &WritePlan<'_>) -> Result<(), StoreError> {
        for round in &plan.rounds {
            self.contacts
                .extend(round.insert_contacts.iter().map(|c| c.phone.to_owned()));
            for m in &round.insert_memberships {
                let key = (account, m.phone.to_owned(), m.list_number.to_owned());
                self.memberships.insert(key);
            }
        }
        self.enrollments += plan.enrollments.len();
        Ok(())
    }
}

// The framework's plumbing, as in any axum service: state and route (not glue, as
// tools/glue_lines.py leaves out the reference server's http.rs).
/// The service's state: the engine and the store (one lock = one transaction per request).
pub struct App {
    pub engine: Engine,
    pub store: Mutex<Store>,
}

pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .route("/v2/contacts/bulk", axum::routing::post(bulk))
        .with_state(app)
}

// glue begins
impl From<StoreError> for Rejection {
    fn from(error: StoreError) -> Rejection {
        eprintln!("store: {}", error.0); // logged; the client gets 500 internal_error
        Rejection::InternalError
    }
}

async fn bulk(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let answer = handle(&app, &headers, body).await;
    answer
        .unwrap_or_else(|rejection| Answer::rejected(rejection, app.engine.limits()))
        .into_http_as()
}

async fn handle(app: &App, headers: &HeaderMap, body: Body) -> Result<Answer, Rejection> {
    let engine = &app.engine;
    // 401 first: the key is checked before a byte of the body is read.
    let key = engine.check_key_format(headers.get("x-api-key").map(|v| v.as_bytes()))?;
    let mut store = app.store.lock().await;
    let found = store.account_by_key(key).await?;
    let (account_id, account) = found.ok_or(Rejection::InvalidApiKey)?;
    engine.authenticate(Some(key), &account.api_keys)?;
    // Then the body, at most the engine's limit: over it, the engine's 413.
    let limit = engine.limits().max_body_bytes();
    if body.size_hint().lower() > limit as u64 {
        return Err(Rejection::PayloadTooLarge); // a Content-Length over it: not read at all
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(Rejection::PayloadTooLarge),
        Err(_) => return Err(Rejection::InvalidJson), // it broke off: not one JSON text
    };
    let owned = engine.read_owned(body.to_vec(), Timestamp::now())?;
    let batch = owned.batch();
    batch.check_billing(account.billing)?;
    let keys = batch.keys();
    let lists = store.lists(account_id, &keys.lists).await?;
    let lists: HashMap<_, _> = lists.into_iter().collect();
    let verdicts = store.carrier_verdicts(&keys.phones).await?;
    let mut carrier: CarrierValidationMap = verdicts.into_iter().collect();
    let contacts = store.contacts(&keys.phones).await?;
    let memberships = store.memberships(account_id, &keys.memberships).await?;
    let directory = DirectoryMap::from_rows(contacts, memberships);
    let screened = batch.screen(&lists, &carrier)?;
    carrier.extend(store.validate(&screened.validation_keys()).await);
    let evaluation = screened.evaluate(&carrier, &directory)?;
    let plan = WritePlan::new(&evaluation);
    store.write(account_id, &plan).await?;
    Ok(Answer::summary(&evaluation))
}
// glue ends

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    let app = Arc::new(App {
        engine: Engine::default(),
        store: Mutex::new(Store::demo()),
    });
    axum::serve(listener, router(app)).await?;
    Ok(())
}
