//! `keel-net`: the tokio driver around the sans-IO core, and the pieces of
//! the `keel-server` binary (config file and flags, listeners, signals).
//!
//! Contract used by the end-to-end tests (to be implemented by the driver work):
//!
//! ```ignore
//! /// Starts a server with `config` on its own thread (port 0 picks a free port)
//! /// and returns once it is listening.
//! pub fn spawn_server(config: keel_engine::Config) -> std::io::Result<ServerHandle>;
//! impl ServerHandle {
//!     pub fn addr(&self) -> std::net::SocketAddr;
//!     /// Stops the server and waits for its thread.
//!     pub fn shutdown(self);
//! }
//! ```
