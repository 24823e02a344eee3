//! With the `agones` feature: generates the server side of Agones' SDK service from its protos
//! (a copy of those in the `agones` crate, `tests/agones_mock/proto/`) for the mock sidecar
//! `tests/agones.rs` runs the server against. The server itself uses the crate's client.

fn main() {
    #[cfg(feature = "agones")]
    {
        let root = "tests/agones_mock/proto";
        println!("cargo:rerun-if-changed={root}");
        tonic_build::configure()
            .build_client(false)
            .build_server(true)
            .compile_protos(
                &[
                    format!("{root}/sdk/sdk.proto"),
                    format!("{root}/sdk/beta/beta.proto"),
                ],
                &[
                    format!("{root}/googleapis"),
                    format!("{root}/grpc-gateway"),
                    format!("{root}/sdk"),
                    format!("{root}/sdk/beta"),
                ],
            )
            .expect("compiling Agones' SDK protos (needs protoc)");
    }
}
