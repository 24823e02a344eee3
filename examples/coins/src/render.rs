//! Coins in the browser: runners as discs with their coin count, coins as small gold squares.

use snapwire_client_wasm::camera::Camera;
use snapwire_client_wasm::draw::{Canvas, Screen, circle, name_tag, own_ring, player_colour};
use snapwire_client_wasm::games::{Me, View, WebGame, name_of};
use snapwire_shared::client::Drawn;

use crate::game::{Coins, Kind, Thing};

impl WebGame for Coins {
    const TITLE: &'static str = "coins";
    const HELP: &'static str = "WASD to run, pick up the gold";

    type Hud = ();

    fn score_of(t: &Thing) -> i32 {
        i32::from(t.coins)
    }

    fn score_words(coins: i32, _: u16) -> String {
        format!("{coins} coins")
    }

    fn draw(
        ctx: &dyn Canvas,
        _: Screen,
        cam: &Camera,
        view: &View<'_, Coins>,
        drawn: &[Drawn<Thing>],
        me: Option<&Me<Thing>>,
    ) {
        let r = cam.len(500.0);
        let own = view.session.player_id();
        let others = drawn.iter().map(|d| (d.id.0, d.state, d.x, d.y, false));
        let mine = me.map(|m| (own.map_or(0, |id| id.0), m.state, m.x, m.y, true));
        for (id, thing, x, y, is_me) in others.chain(mine) {
            let (x, y) = cam.at(x, y);
            match thing.kind {
                Kind::Coin => {
                    ctx.set_fill_style_str("#ffd166");
                    ctx.fill_rect(x - r / 2.0, y - r / 2.0, r, r);
                }
                Kind::Runner => {
                    ctx.set_fill_style_str(&player_colour(id));
                    circle(ctx, x, y, r);
                    if is_me {
                        own_ring(ctx, x, y, r);
                    }
                    let label = format!("{} ({})", name_of(view, id), thing.coins);
                    name_tag(ctx, &label, x, y - r - 8.0);
                }
            }
        }
    }
}
