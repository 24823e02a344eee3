//! What a browser gets from the server besides the game: the page, its icon, and a 404 page
//! that points back to the game.

use crate::support;

use std::path::Path;

use snapwire_server::Config;
use support::TestServer;

#[tokio::test]
async fn missing_pages_get_a_404_page_and_the_icon_is_served() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("assets");
    let mut config = Config::new(60);
    config.assets = Some(assets);
    let server = TestServer::start(config).await;
    let get = |path: &str| reqwest::get(format!("http://{}{path}", server.addr));

    let missing = get("/nonexistent").await.expect("GET");
    assert_eq!(missing.status().as_u16(), 404);
    let body = missing.text().await.expect("body");
    assert!(
        body.contains("Nothing here") && body.contains("href=\"/\""),
        "{body}"
    );

    let icon = get("/favicon.svg").await.expect("GET");
    assert_eq!(icon.status().as_u16(), 200);
    assert!(icon.text().await.expect("body").starts_with("<svg"));

    let page = get("/").await.expect("GET").text().await.expect("body");
    assert!(page.contains("favicon.svg"), "the page links its icon");
    server.stop().await;
}
