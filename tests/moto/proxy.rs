//! A fault-injecting HTTP proxy in front of moto, for the AWS tests of issue 18: it throttles
//! calls before they reach moto (a refusal with no effect) and loses answers after moto
//! carried the call out (the effect happened; the caller gets a 500 `InternalError`, as after
//! a server fault or a client-side timeout). Moto has no fault injection of its own for EC2
//! and Auto Scaling.
//!
//! Why Rust, inside the test support, rather than a script: the test starts it in-process on
//! a free 127.0.0.1 port in a few microseconds, seeds it directly, and reads its counters to
//! prove faults were injected; it needs nothing but tokio, which the SDK already brings.
//!
//! It speaks just enough HTTP/1.1 for the SDK's calls: one request per connection with a
//! `Content-Length` body, forwarded with `Connection: close`, moto's answer read to its end.
//! The services Cairn drives get faults: the query-protocol ones (EC2, Auto Scaling, Elastic
//! Load Balancing, CloudWatch), told by the body's `Action` and `Version`, and Route 53
//! (REST-XML), told by its path; everything else (S3 state) passes through untouched. The dice
//! are seeded: the same seed gives the same sequence of decisions (which call gets which
//! depends on the order calls arrive in).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    pub seed: u64,
    /// Share (0..1) of calls to the services Cairn drives refused as throttled before reaching
    /// moto.
    pub throttle: f64,
    /// Share (0..1) of calls that change something whose answer is replaced by a 500 after
    /// moto carried them out.
    pub lose: f64,
}

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct Counters {
    pub forwarded: AtomicU64,
    pub throttled: AtomicU64,
    pub lost: AtomicU64,
}

/// A running proxy; it stops with the test process.
pub struct FaultProxy {
    pub url: String,
    pub counters: Arc<Counters>,
    /// Calls whose answer was lost, in order, as `Service Action` (`Ec2 CreateVpc`,
    /// `Route53 POST hostedzone`).
    pub lost_actions: Arc<Mutex<Vec<String>>>,
}

struct Shared {
    upstream: SocketAddr,
    faults: Faults,
    dice: Mutex<fastrand::Rng>,
    counters: Arc<Counters>,
    lost_actions: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`) on a free loopback
    /// port, on a thread of its own.
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|error| panic!("moto endpoint `{upstream}`: {error}"));
        assert!(
            upstream.ip().is_loopback(),
            "the proxy only talks to 127.0.0.1"
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|error| panic!("cannot bind the proxy: {error}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("{error}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|error| panic!("{error}"));
        let counters = Arc::new(Counters::default());
        let lost_actions = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            upstream,
            faults,
            dice: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            counters: Arc::clone(&counters),
            lost_actions: Arc::clone(&lost_actions),
        });
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|error| panic!("proxy runtime: {error}"));
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener)
                    .unwrap_or_else(|error| panic!("proxy listener: {error}"));
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move {
                        // A connection the client dropped is no concern of the test.
                        let _ = serve(client, &shared).await;
                    });
                }
            });
        });
        FaultProxy {
            url: format!("http://{address}"),
            counters,
            lost_actions,
        }
    }

    pub fn lost(&self) -> u64 {
        self.counters.lost.load(Ordering::Relaxed)
    }

    pub fn throttled(&self) -> u64 {
        self.counters.throttled.load(Ordering::Relaxed)
    }
}

/// The service a call is for: from the API version its body names (query protocol), or from
/// its path (Route 53).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Service {
    Ec2,
    Autoscaling,
    LoadBalancing,
    CloudWatch,
    Route53,
}

/// Route 53's API, under which every path of it lies.
const ROUTE53_PATH: &str = "/2013-04-01/";

/// The service and the operation of a call, and whether it changes something; `None` for a
/// call to a service the proxy leaves alone.
fn classify(head: &str, form: &str) -> Option<(Service, String, bool)> {
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, path) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
    );
    if let Some(rest) = path.strip_prefix(ROUTE53_PATH) {
        let resource = rest.split('?').next().unwrap_or_default();
        // Reads are GETs, but for ListTagsForResources, a POST to `tags/TYPE` (with no id).
        let changes = match method {
            "GET" => false,
            "POST" => !(resource.starts_with("tags/") && resource.matches('/').count() == 1),
            _ => true,
        };
        return Some((Service::Route53, format!("{method} {resource}"), changes));
    }
    let service = match form_value(form, "Version")?.as_str() {
        "2016-11-15" => Service::Ec2,
        "2011-01-01" => Service::Autoscaling,
        "2015-12-01" => Service::LoadBalancing,
        "2010-08-01" => Service::CloudWatch,
        _ => return None,
    };
    let action = form_value(form, "Action")?;
    let changes = !["Describe", "Get", "List"]
        .iter()
        .any(|read| action.starts_with(read));
    Some((service, action, changes))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Pass,
    Throttle,
    Lose,
}

async fn serve(mut client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let form = String::from_utf8_lossy(&body).into_owned();
    let call = classify(&head, &form);
    let fate = match &call {
        Some((_, _, changes)) => {
            let mut dice = shared
                .dice
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let changes = *changes;
            // Both dice are rolled for every call, so one seed gives one sequence.
            let (throttle, lose) = (dice.f64(), dice.f64());
            if throttle < shared.faults.throttle {
                Fate::Throttle
            } else if changes && lose < shared.faults.lose {
                Fate::Lose
            } else {
                Fate::Pass
            }
        }
        None => Fate::Pass,
    };
    let (service, action) = call
        .map(|(service, action, _)| (service, action))
        .unwrap_or((Service::Ec2, String::new()));
    let response = match fate {
        Fate::Throttle => {
            shared.counters.throttled.fetch_add(1, Ordering::Relaxed);
            error_response(service, true)
        }
        Fate::Pass | Fate::Lose => {
            let answer = forward(shared.upstream, &head, &body).await?;
            shared.counters.forwarded.fetch_add(1, Ordering::Relaxed);
            if fate == Fate::Lose {
                shared.counters.lost.fetch_add(1, Ordering::Relaxed);
                shared
                    .lost_actions
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(format!("{service:?} {action}"));
                error_response(service, false)
            } else {
                answer
            }
        }
    };
    client.write_all(&response).await?;
    client.shutdown().await
}

/// Reads one request: its head (request line and headers, without the blank line) and its
/// `Content-Length` body. `None` when the client closed the connection first.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(position) = find(&buffer, b"\r\n\r\n") {
            break position;
        }
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = client.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some((head, body)))
}

/// Sends the request to moto with `Connection: close` and returns moto's whole answer.
async fn forward(upstream: SocketAddr, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut request = String::new();
    for (position, line) in head.split("\r\n").enumerate() {
        let connection = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("connection"));
        if position > 0 && connection {
            continue;
        }
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(request.as_bytes()).await?;
    server.write_all(body).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    Ok(answer)
}

/// A throttling refusal or a server error, shaped as the service answers them.
fn error_response(service: Service, throttle: bool) -> Vec<u8> {
    const LOST: &str = "An internal error has occurred (the test proxy lost the answer).";
    let (status, body) = match (service, throttle) {
        (Service::Ec2, true) => (
            "503 Service Unavailable",
            ec2_error("RequestLimitExceeded", "Request limit exceeded."),
        ),
        (Service::Ec2, false) => (
            "500 Internal Server Error",
            ec2_error("InternalError", LOST),
        ),
        (_, true) => (
            "400 Bad Request",
            query_error(service, "Sender", "Throttling", "Rate exceeded"),
        ),
        (_, false) => (
            "500 Internal Server Error",
            query_error(service, "Receiver", "InternalFailure", LOST),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn ec2_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
         <Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
    )
}

/// The error document of the query-protocol services and of Route 53 (the same shape).
fn query_error(service: Service, kind: &str, code: &str, message: &str) -> String {
    let namespace = match service {
        Service::Ec2 | Service::Autoscaling => "http://autoscaling.amazonaws.com/doc/2011-01-01/",
        Service::LoadBalancing => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
        Service::CloudWatch => "http://monitoring.amazonaws.com/doc/2010-08-01/",
        Service::Route53 => "https://route53.amazonaws.com/doc/2013-04-01/",
    };
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
    )
}

/// The value of `name` in an `application/x-www-form-urlencoded` body (names and the
/// values looked up here are plain ASCII, so no decoding is needed).
fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
