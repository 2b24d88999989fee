//! The engine, its results and the shipped lookup impls can be shared across threads (checked
//! at compile time), and evaluating the same batches from several threads at once, each in its
//! own order, gives every case its expected answer (the conformance suite's) and the same
//! answers as evaluating them on one thread. The cases ask about the same numbers in different
//! worlds, so state shared between evaluations (a process-wide cache of lookups, say) gives
//! some case another world's answer.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::Path;

use bulk_contacts::testing::{Case, World};
use bulk_contacts::{
    Account, Batch, CarrierValidationMap, DirectoryMap, Engine, Evaluation, Keys, Limits,
    OwnedBatch, Rejection, Request, Response, Screened, SendingList,
};

const fn send_sync<T: Send + Sync + ?Sized>() {}
const fn send_static<T: Send + 'static>() {}

/// Fails to compile if one of these is not `Send + Sync`.
const _: () = {
    send_sync::<Engine>();
    send_sync::<Limits>();
    send_sync::<Account>();
    send_sync::<World>();
    send_sync::<Batch<'static>>();
    send_sync::<Evaluation<'static>>();
    send_sync::<Screened<'static>>();
    send_sync::<OwnedBatch>();
    send_static::<OwnedBatch>();
    send_sync::<Keys<'static>>();
    send_sync::<Request<'static>>();
    send_sync::<Response>();
    send_sync::<Rejection>();
    send_sync::<CarrierValidationMap>();
    send_sync::<DirectoryMap>();
    send_sync::<HashMap<String, SendingList>>();
};

/// Every conformance case, and one batch of 1000 contacts with duplicates and every outcome.
fn cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut paths: Vec<_> = ["generated", "hand"]
        .into_iter()
        .flat_map(|folder| std::fs::read_dir(root.join(folder)).expect("tests/conformance/*"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut cases: Vec<Case> = paths
        .iter()
        .filter_map(|path| Case::from_json(&std::fs::read_to_string(path).ok()?).ok())
        .collect();
    assert!(cases.len() >= 100);

    let phones = [
        "+14155559876",
        "+12125551000",
        "+13105558888",
        "+442079460000",
        "+14155550000",
        "not a number",
    ];
    let lists = ["+18005551234", "+18005551234", "+442079460000"];
    let contacts: Vec<String> = (0..1000)
        .map(|i| {
            format!(
                r#"{{"phone_number":"{}","list_number":"{}","use_journeys":{},"use_validation":{}}}"#,
                phones[i % phones.len()],
                lists[i % lists.len()],
                i % 2 == 0,
                i % 7 == 0
            )
        })
        .collect();
    let world = r#"{
        "lists": {"+18005551234": {"welcome_journeys": 2}},
        "contacts": ["+12125551000"],
        "list_contacts": [["+14155559876", "+18005551234"]],
        "carrier": {"+13105558888": "not_sendable"},
        "validation": {"+442079460000": "provider_error"}
    }"#;
    let big = format!(
        r#"{{"description": "1000 contacts", "world": {world}, "body": {{"contacts": [{}]}}}}"#,
        contacts.join(",")
    );
    cases.push(Case::from_json(&big).expect("the big case"));
    cases
}

/// The answer to a case, step by step: read, billing, evaluate, serialize.
fn evaluate(engine: &Engine, batch: &Batch<'_>, world: &World) -> Response {
    if let Err(rejection) = batch.check_billing(world.billing) {
        return Response::rejected(rejection, engine.limits());
    }
    match batch.evaluate(world, world, world) {
        Ok(evaluation) => Response::summary(&evaluation),
        Err(_) => Response::rejected(Rejection::InternalError, engine.limits()),
    }
}

#[test]
fn a_batch_read_on_another_thread_comes_back_owning_its_body() {
    let engine = Engine::default();
    let world = World::builtin();
    for case in cases() {
        let body = case.body.clone();
        let now = case.world.now;
        let owned = std::thread::spawn(move || engine.read_owned(body, now))
            .join()
            .expect("no panic");
        match (owned, engine.read(&case.body, now)) {
            (Ok(owned), Ok(borrowed)) => {
                assert_eq!(owned.body(), case.body.as_slice());
                assert_eq!(owned.batch().checks(), borrowed.checks());
                assert_eq!(
                    evaluate(&engine, owned.batch(), &world),
                    evaluate(&engine, &borrowed, &world)
                );
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            (owned, borrowed) => panic!("{}: {owned:?} vs {borrowed:?}", case.description),
        }
    }
}

#[test]
fn evaluating_the_same_batches_from_several_threads_gives_identical_results() {
    let engine = Engine::default();
    let cases = cases();
    // Read once, on this thread; the batches and worlds are then shared by reference.
    let batches: Vec<(&Case, Batch<'_>)> = cases
        .iter()
        .filter_map(|case| Some((case, engine.read(&case.body, case.world.now).ok()?)))
        .collect();
    assert!(
        batches.len() >= 50,
        "only {} batches were read",
        batches.len()
    );
    let expected: Vec<Response> = batches
        .iter()
        .map(|(case, batch)| evaluate(&engine, batch, &case.world))
        .collect();
    let whole: Vec<Response> = cases.iter().map(Case::run).collect();
    assert!(expected.iter().any(|r| r.status == 200));
    let with_answers = cases.iter().filter(|case| case.expect.is_some()).count();
    assert!(
        with_answers >= 100,
        "{with_answers} cases with an expected answer"
    );

    let threads = 4;
    let rounds = 3;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (batches, cases, engine) = (&batches, &cases, &engine);
                scope.spawn(move || {
                    let mut evaluated = Vec::new();
                    let mut handled = Vec::new();
                    for round in 0..rounds {
                        // Each thread walks the batches from another starting point, so that
                        // different threads evaluate the same batch at the same moment.
                        let n = batches.len();
                        let mut answers = vec![None; n];
                        for k in 0..n {
                            let i = (k + t * n / threads + round) % n;
                            let (case, batch) = &batches[i];
                            answers[i] = Some(evaluate(engine, batch, &case.world));
                        }
                        evaluated.push(answers.into_iter().map(Option::unwrap).collect::<Vec<_>>());
                        handled.push(cases.iter().map(Case::run).collect::<Vec<_>>());
                    }
                    (evaluated, handled)
                })
            })
            .collect();
        for handle in handles {
            let (evaluated, handled) = handle.join().expect("no thread panicked");
            for answers in evaluated {
                assert_eq!(answers, expected);
            }
            for answers in handled {
                for (case, answer) in cases.iter().zip(&answers) {
                    if let Some(mismatch) = case.mismatch(answer) {
                        panic!("{}: {mismatch}", case.description);
                    }
                }
                assert_eq!(answers, whole);
            }
        }
    });
}
