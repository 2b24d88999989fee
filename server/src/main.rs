//! `bulk-contacts-server [--db PATH] [--listen ADDR] [--seed-demo]`
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use bulk_contacts::Engine;
use bulk_contacts::testing::World;
use bulk_contacts_server::{App, Store, serve};

const USAGE: &str =
    "usage: bulk-contacts-server [--db PATH | --db :memory:] [--listen ADDR] [--seed-demo]

  --db PATH     the SQLite database, created with its schema if absent (default: :memory:)
  --listen ADDR the address to listen on (default: 127.0.0.1:8080)
  --seed-demo   add the demo account: the built-in world of SPEC section 8";

struct Options {
    db: String,
    listen: SocketAddr,
    seed_demo: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        db: ":memory:".to_owned(),
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        seed_demo: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => options.db = args.next().ok_or("--db needs a path")?,
            "--listen" => {
                let addr = args.next().ok_or("--listen needs an address")?;
                options.listen = addr
                    .parse()
                    .map_err(|error| format!("--listen {addr}: {error}"))?;
            }
            "--seed-demo" => options.seed_demo = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("bulk-contacts-server: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bulk-contacts-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open(&options.db)?;
    if options.seed_demo {
        let world = World::builtin();
        store.seed_world("demo", &world)?;
        eprintln!(
            "seeded the demo account: key {}, list +18005551234 (1 welcome journey), \
             +13105558888 not sendable",
            world.api_keys.first().map_or("", String::as_str)
        );
    }
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    eprintln!(
        "listening on http://{} (database {})",
        listener.local_addr()?,
        options.db
    );
    let app = Arc::new(App {
        engine: Engine::default(),
        store: Arc::new(store),
    });
    let shutdown = async {
        // Ctrl-C: finish the requests in flight, then stop.
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down");
    };
    serve(listener, app, shutdown).await?;
    Ok(())
}
