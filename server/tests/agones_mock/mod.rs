//! A stand-in for Agones' SDK sidecar: the gRPC services `agones.dev.sdk.SDK` and
//! `agones.dev.sdk.beta.SDK`, generated from the SDK's own protos (`proto/`, a copy of those
//! in the `agones` crate 1.61.0) by `server/build.rs`, serving on 127.0.0.1 and keeping what
//! the server told it, as the real sidecar would write it to the GameServer resource.
//!
//! Agones' rules that the server must live with are kept: a list refuses a value it has
//! (AlreadyExists) and one over its capacity (OutOfRange), removing a missing value is
//! NotFound, a counter stays within 0..=capacity, and unknown counters or lists are NotFound.
//! The first health stream is ended after [`PINGS_BEFORE_DROP`] pings, as a restarting
//! sidecar would, so the server must open another.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use tonic::{Request, Response, Status, Streaming};

pub mod sdk {
    tonic::include_proto!("agones.dev.sdk");
    pub mod beta {
        tonic::include_proto!("agones.dev.sdk.beta");
    }
}

use sdk::beta::sdk_server::SdkServer as BetaServer;
use sdk::sdk_server::SdkServer;

/// The first health stream ends after this many pings.
pub const PINGS_BEFORE_DROP: u32 = 3;

/// What the sidecar was told, in order where order matters.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub get_game_server: u32,
    pub ready: u32,
    pub shutdown: u32,
    pub health_streams: u32,
    pub pings: u32,
    pub pings_on_first_stream: u32,
    /// name -> (count, capacity)
    pub counters: BTreeMap<String, (i64, i64)>,
    /// name -> (capacity, values)
    pub lists: BTreeMap<String, (i64, BTreeSet<String>)>,
    /// Every call by name, in arrival order.
    pub calls: Vec<&'static str>,
}

#[derive(Clone)]
pub struct Mock {
    seen: Arc<Mutex<Seen>>,
    state: tokio::sync::watch::Sender<String>,
}

impl Mock {
    /// A GameServer spec with a `rooms` counter and a `players` list, as `deploy/` declares.
    fn new() -> Mock {
        let mut seen = Seen::default();
        seen.counters.insert("rooms".into(), (0, 10));
        seen.lists.insert("players".into(), (10, BTreeSet::new()));
        Mock {
            seen: Arc::new(Mutex::new(seen)),
            state: tokio::sync::watch::channel("Scheduled".to_owned()).0,
        }
    }

    /// Serves on 127.0.0.1 (a free port) until the test ends.
    pub async fn start() -> (Mock, SocketAddr) {
        let mock = Mock::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the mock sidecar");
        let addr = listener.local_addr().expect("addr");
        let incoming = futures_util::stream::unfold(listener, |l| async move {
            let accepted = l.accept().await.map(|(s, _)| s);
            Some((accepted, l))
        });
        let router = tonic::transport::Server::builder()
            .add_service(SdkServer::new(mock.clone()))
            .add_service(BetaServer::new(mock.clone()));
        tokio::spawn(async move {
            router
                .serve_with_incoming(incoming)
                .await
                .expect("mock sidecar");
        });
        (mock, addr)
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().expect("mock state").clone()
    }

    /// What an allocation does to the GameServer: its watchers see the new state.
    pub fn set_state(&self, state: &str) {
        self.state.send_replace(state.to_owned());
    }

    fn call(&self, name: &'static str) -> std::sync::MutexGuard<'_, Seen> {
        let mut seen = self.seen.lock().expect("mock state");
        seen.calls.push(name);
        seen
    }

    fn game_server(&self) -> sdk::GameServer {
        sdk::GameServer {
            object_meta: Some(sdk::game_server::ObjectMeta {
                name: "snapwire-test".into(),
                ..Default::default()
            }),
            spec: None,
            status: Some(sdk::game_server::Status {
                state: self.state.borrow().clone(),
                ..Default::default()
            }),
        }
    }
}

type GameServers = Pin<Box<dyn Stream<Item = Result<sdk::GameServer, Status>> + Send>>;

#[tonic::codegen::async_trait]
impl sdk::sdk_server::Sdk for Mock {
    async fn ready(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::Empty>, Status> {
        self.call("Ready").ready += 1;
        self.state.send_replace("Ready".to_owned());
        Ok(Response::new(sdk::Empty {}))
    }

    async fn allocate(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::Empty>, Status> {
        drop(self.call("Allocate"));
        self.state.send_replace("Allocated".to_owned());
        Ok(Response::new(sdk::Empty {}))
    }

    async fn shutdown(&self, _: Request<sdk::Empty>) -> Result<Response<sdk::Empty>, Status> {
        self.call("Shutdown").shutdown += 1;
        self.state.send_replace("Shutdown".to_owned());
        Ok(Response::new(sdk::Empty {}))
    }

    async fn health(
        &self,
        request: Request<Streaming<sdk::Empty>>,
    ) -> Result<Response<sdk::Empty>, Status> {
        let first = {
            let mut seen = self.call("Health");
            seen.health_streams += 1;
            seen.health_streams == 1
        };
        let mut pings = request.into_inner();
        while let Ok(Some(_)) = pings.message().await {
            let mut seen = self.seen.lock().expect("mock state");
            seen.pings += 1;
            if first {
                seen.pings_on_first_stream += 1;
                if seen.pings_on_first_stream == PINGS_BEFORE_DROP {
                    // The sidecar restarts: this stream is over.
                    break;
                }
            }
        }
        Ok(Response::new(sdk::Empty {}))
    }

    async fn get_game_server(
        &self,
        _: Request<sdk::Empty>,
    ) -> Result<Response<sdk::GameServer>, Status> {
        self.call("GetGameServer").get_game_server += 1;
        Ok(Response::new(self.game_server()))
    }

    type WatchGameServerStream = GameServers;

    async fn watch_game_server(
        &self,
        _: Request<sdk::Empty>,
    ) -> Result<Response<GameServers>, Status> {
        drop(self.call("WatchGameServer"));
        let mock = self.clone();
        let changes = self.state.subscribe();
        // The current GameServer first, then one per change, as the sidecar sends them.
        let stream = futures_util::stream::unfold(
            (mock, changes, true),
            |(mock, mut changes, first)| async move {
                if !first && changes.changed().await.is_err() {
                    return None;
                }
                changes.borrow_and_update();
                let gs = mock.game_server();
                Some((Ok(gs), (mock, changes, false)))
            },
        );
        Ok(Response::new(Box::pin(stream)))
    }

    async fn set_label(&self, _: Request<sdk::KeyValue>) -> Result<Response<sdk::Empty>, Status> {
        drop(self.call("SetLabel"));
        Ok(Response::new(sdk::Empty {}))
    }

    async fn set_annotation(
        &self,
        _: Request<sdk::KeyValue>,
    ) -> Result<Response<sdk::Empty>, Status> {
        drop(self.call("SetAnnotation"));
        Ok(Response::new(sdk::Empty {}))
    }

    async fn reserve(&self, _: Request<sdk::Duration>) -> Result<Response<sdk::Empty>, Status> {
        drop(self.call("Reserve"));
        Ok(Response::new(sdk::Empty {}))
    }
}

use sdk::beta as b;

fn counter(name: &str, (count, capacity): (i64, i64)) -> b::Counter {
    b::Counter {
        name: name.to_owned(),
        count,
        capacity,
    }
}

fn list(name: &str, (capacity, values): &(i64, BTreeSet<String>)) -> b::List {
    b::List {
        name: name.to_owned(),
        capacity: *capacity,
        values: values.iter().cloned().collect(),
    }
}

fn not_found(what: &str) -> Status {
    Status::not_found(format!("{what} not found"))
}

#[tonic::codegen::async_trait]
impl b::sdk_server::Sdk for Mock {
    async fn get_counter(
        &self,
        request: Request<b::GetCounterRequest>,
    ) -> Result<Response<b::Counter>, Status> {
        let name = request.into_inner().name;
        let seen = self.call("GetCounter");
        let c = seen.counters.get(&name).ok_or_else(|| not_found(&name))?;
        Ok(Response::new(counter(&name, *c)))
    }

    async fn update_counter(
        &self,
        request: Request<b::UpdateCounterRequest>,
    ) -> Result<Response<b::Counter>, Status> {
        let update = request
            .into_inner()
            .counter_update_request
            .ok_or_else(|| Status::invalid_argument("no counter_update_request"))?;
        let mut seen = self.call("UpdateCounter");
        let c = seen
            .counters
            .get_mut(&update.name)
            .ok_or_else(|| not_found(&update.name))?;
        let capacity = update.capacity.unwrap_or(c.1);
        let count = update.count.unwrap_or(c.0) + update.count_diff;
        if capacity < 0 || !(0..=capacity).contains(&count) {
            return Err(Status::out_of_range(format!(
                "count {count} outside 0..={capacity}"
            )));
        }
        *c = (count, capacity);
        Ok(Response::new(counter(&update.name, *c)))
    }

    async fn get_list(
        &self,
        request: Request<b::GetListRequest>,
    ) -> Result<Response<b::List>, Status> {
        let name = request.into_inner().name;
        let seen = self.call("GetList");
        let l = seen.lists.get(&name).ok_or_else(|| not_found(&name))?;
        Ok(Response::new(list(&name, l)))
    }

    async fn update_list(
        &self,
        request: Request<b::UpdateListRequest>,
    ) -> Result<Response<b::List>, Status> {
        let r = request.into_inner();
        let new = r.list.ok_or_else(|| Status::invalid_argument("no list"))?;
        let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut seen = self.call("UpdateList");
        let l = seen
            .lists
            .get_mut(&new.name)
            .ok_or_else(|| not_found(&new.name))?;
        for path in paths {
            match path.as_str() {
                "capacity" if (0..=1000).contains(&new.capacity) => l.0 = new.capacity,
                "capacity" => {
                    return Err(Status::out_of_range("list capacity outside 0..=1000"));
                }
                "values" => l.1 = new.values.iter().cloned().collect(),
                other => return Err(Status::invalid_argument(format!("mask path {other}"))),
            }
        }
        Ok(Response::new(list(&new.name, l)))
    }

    async fn add_list_value(
        &self,
        request: Request<b::AddListValueRequest>,
    ) -> Result<Response<b::List>, Status> {
        let r = request.into_inner();
        let mut seen = self.call("AddListValue");
        let l = seen
            .lists
            .get_mut(&r.name)
            .ok_or_else(|| not_found(&r.name))?;
        if l.1.contains(&r.value) {
            return Err(Status::already_exists(r.value));
        }
        if l.1.len() as i64 >= l.0 {
            return Err(Status::out_of_range("list is at capacity"));
        }
        l.1.insert(r.value);
        Ok(Response::new(list(&r.name, l)))
    }

    async fn remove_list_value(
        &self,
        request: Request<b::RemoveListValueRequest>,
    ) -> Result<Response<b::List>, Status> {
        let r = request.into_inner();
        let mut seen = self.call("RemoveListValue");
        let l = seen
            .lists
            .get_mut(&r.name)
            .ok_or_else(|| not_found(&r.name))?;
        if !l.1.remove(&r.value) {
            return Err(not_found(&r.value));
        }
        Ok(Response::new(list(&r.name, l)))
    }
}
