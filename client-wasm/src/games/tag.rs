//! Tag in the browser: runners as discs, "it" red and pulsing, an immune runner ringed; the
//! score is seconds not being "it" this round.

use snapwire_shared::client::Drawn;
use snapwire_shared::sim::rules::PLAYER_RADIUS;
use snapwire_shared::tag::{Runner, Tag};

use super::{Me, View, WebGame, name_of};
use crate::camera::Camera;
use crate::draw::{Canvas, Screen, banner, circle, name_tag, own_ring, player_colour};

/// "It" is drawn in this colour whoever it is.
const IT: &str = "#ff4d4d";

impl WebGame for Tag {
    const TITLE: &'static str = "snapwire tag";
    const HELP: &'static str = "WASD move; when red, touch someone; N net graph";

    type Hud = ();

    fn score_of(state: &Runner) -> i32 {
        state.score
    }

    fn score_words(ticks: i32, tick_rate: u16) -> String {
        format!("{} s free", ticks / i32::from(tick_rate.max(1)))
    }

    fn score_text(ticks: i32, tick_rate: u16) -> String {
        format!("{} s", ticks / i32::from(tick_rate.max(1)))
    }

    fn draw(
        ctx: &dyn Canvas,
        screen: Screen,
        cam: &Camera,
        view: &View<'_, Tag>,
        drawn: &[Drawn<Runner>],
        me: Option<&Me<Runner>>,
    ) {
        let r = cam.len(f64::from(PLAYER_RADIUS));
        for d in drawn {
            let (x, y) = cam.at(d.x, d.y);
            runner(
                ctx,
                x,
                y,
                r,
                d.id.0,
                &name_of(view, d.id.0),
                &d.state,
                false,
            );
        }
        let Some(me) = me else { return };
        let (x, y) = cam.at(me.x, me.y);
        let id = view.session.player_id().map_or(0, |id| id.0);
        runner(ctx, x, y, r, id, &name_of(view, id), &me.state, true);
        if me.state.it {
            banner(ctx, screen, "You are it: touch someone!");
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn runner(
    ctx: &dyn Canvas,
    x: f64,
    y: f64,
    r: f64,
    id: u32,
    name: &str,
    state: &Runner,
    own: bool,
) {
    let colour = if state.it {
        IT.to_owned()
    } else {
        player_colour(id)
    };
    ctx.set_fill_style_str(&colour);
    circle(ctx, x, y, if state.it { r * 1.15 } else { r });
    if state.immune > 0 {
        ctx.set_stroke_style_str("rgba(155, 226, 155, 0.9)");
        ctx.set_line_width(2.0);
        ctx.set_line_dash(&[4.0, 4.0]);
        ctx.begin_path();
        ctx.arc(x, y, r * 1.5, 0.0, std::f64::consts::TAU);
        ctx.stroke();
        ctx.set_line_dash(&[]);
    }
    if own {
        own_ring(ctx, x, y, r);
    }
    let label = if state.it {
        format!("{name} (it)")
    } else {
        name.to_owned()
    };
    name_tag(ctx, &label, x, y - r - 8.0);
}
