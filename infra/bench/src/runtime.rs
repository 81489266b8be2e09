//! A fake Lambda Runtime API for one function process at a time: the function
//! long-polls `GET …/invocation/next`; the benchmark hands it an event and waits
//! for its `POST …/invocation/<id>/response`. When the first `next` arrives is
//! when the function's init ended.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};

pub struct RuntimeApi {
    pub address: String,
    /// Fires each time the function asks for its next event.
    ready: Mutex<mpsc::Receiver<Instant>>,
    events: mpsc::Sender<Vec<u8>>,
    /// What the function answered (or reported as an error: `Err`).
    answers: Mutex<mpsc::Receiver<Result<Vec<u8>, Vec<u8>>>>,
}

struct Shared {
    ready: mpsc::Sender<Instant>,
    events: Mutex<mpsc::Receiver<Vec<u8>>>,
    answers: mpsc::Sender<Result<Vec<u8>, Vec<u8>>>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Arc<Self>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (ready_tx, ready_rx) = mpsc::channel(4);
        let (events_tx, events_rx) = mpsc::channel(4);
        let (answers_tx, answers_rx) = mpsc::channel(4);
        let shared = Arc::new(Shared { ready: ready_tx, events: Mutex::new(events_rx), answers: answers_tx });
        crate::http::serve(listener, shared, |shared, req| async move { serve(&shared, req).await });
        Ok(Arc::new(Self { address, ready: Mutex::new(ready_rx), events: events_tx, answers: Mutex::new(answers_rx) }))
    }

    /// Waits until the function asks for an event; when it did.
    pub async fn until_ready(&self) -> Option<Instant> {
        self.ready.lock().await.recv().await
    }

    /// Hands the function one event and waits for its answer.
    pub async fn invoke(&self, event: &[u8]) -> Result<Vec<u8>, String> {
        self.events.send(event.to_vec()).await.map_err(|e| e.to_string())?;
        match self.answers.lock().await.recv().await {
            Some(Ok(body)) => Ok(body),
            Some(Err(error)) => Err(String::from_utf8_lossy(&error).into_owned()),
            None => Err("runtime API closed".into()),
        }
    }
}

async fn serve(shared: &Shared, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path.ends_with("/invocation/next") {
        // Only the first `next` of a process is waited for; later ones need no one.
        let _ = shared.ready.try_send(Instant::now());
        let event = shared.events.lock().await.recv().await.unwrap_or_default();
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or_default();
        return hyper::Response::builder()
            .header("lambda-runtime-aws-request-id", "bench-request")
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench")
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
            .body(Full::new(Bytes::from(event)))
            .unwrap_or_default();
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let answer = if path.ends_with("/response") { Ok(body) } else { Err(body) };
    let _ = shared.answers.send(answer).await;
    hyper::Response::builder().status(202).body(Full::new(Bytes::new())).unwrap_or_default()
}
