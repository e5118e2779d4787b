//! Local stand-ins for the services Keynet calls (Stripe's API, an S3 that sheds load): an
//! actix-web app on a free loopback port, served inside the test's runtime.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

pub struct StubServer {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub url: String,
    handle: ServerHandle,
}

impl StubServer {
    /// Serves the routes and data `configure` sets up, on one worker.
    pub fn start(configure: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || App::new().configure(configure.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { url, handle }
    }

    /// Stops after answering the requests under way.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}
