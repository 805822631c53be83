//! The storyboard's window: which scenes, and which rows of shot cards within them, are in the
//! DOM, and the heights of the spacers that stand for the rest.
//!
//! A board of thousands of shots rendered whole costs tens of thousands of DOM nodes and
//! seconds before the first card shows. The board instead renders the scenes and card rows in
//! and around the viewport (plus the rows of the selected and the dragged shot, so that focus
//! and a drag survive scrolling), with spacers sized to what they replace, the way the script
//! editor windows its lines ([`crate::lines::Layout`]).
//!
//! Heights come from [`GridMetrics`], measured in the page: every card has the same height (the
//! board fixes it to the tallest card seen), so a scene's height follows from its shot count and
//! the column count, and the spacers are exact once the metrics are measured.

use std::ops::Range;

use crate::lines::normalize;

/// The sizes of the board's parts, in CSS px, as measured in the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridMetrics {
    /// Cards per row (at least one).
    pub columns: usize,
    /// A card's height.
    pub card: f32,
    /// The gap between two rows of cards.
    pub gap: f32,
    /// A scene's height above its list's content: heading, spacing, the list's top padding.
    pub head: f32,
    /// Everything in a scene but its list's content (`head` included), up to the next scene.
    pub chrome: f32,
    /// The list's content height in a scene without shots ("No shots yet").
    pub empty: f32,
}

impl Default for GridMetrics {
    /// Estimates for the first frame, before anything could be measured.
    fn default() -> Self {
        GridMetrics {
            columns: 5,
            card: 240.0,
            gap: 10.0,
            head: 50.0,
            chrome: 76.0,
            empty: 50.0,
        }
    }
}

/// Where every scene of the board is, for one set of metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct GridLayout {
    metrics: GridMetrics,
    /// Shots in each scene, in board order.
    counts: Vec<usize>,
    /// The top of each scene, and the end of the last: `counts.len() + 1` entries.
    tops: Vec<f32>,
}

/// One scene in the window and its shown rows (sorted, disjoint, non-empty; none when only
/// its heading is near the viewport).
#[derive(Debug, Clone, PartialEq)]
pub struct ShownScene {
    pub scene: usize,
    /// The height of the hidden scenes between the previous shown scene and this one.
    pub gap_before: f32,
    pub rows: Vec<Range<usize>>,
}

/// What the board renders: shown scenes in order, then a spacer for the hidden scenes after
/// the last one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Window {
    pub scenes: Vec<ShownScene>,
    pub gap_after: f32,
}

/// A piece of a shown scene's list of cards.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// `rows` hidden rows, stood for by one spacer of `height` (the grid adds the gap below).
    Spacer {
        first_row: usize,
        rows: usize,
        height: f32,
    },
    /// The cards with these indices within the scene.
    Cards(Range<usize>),
}

impl GridLayout {
    pub fn new(counts: Vec<usize>, metrics: GridMetrics) -> Self {
        let metrics = GridMetrics {
            columns: metrics.columns.max(1),
            ..metrics
        };
        let mut layout = GridLayout {
            metrics,
            counts,
            tops: Vec::new(),
        };
        let mut top = 0.0;
        let mut tops = Vec::with_capacity(layout.counts.len() + 1);
        for scene in 0..layout.counts.len() {
            tops.push(top);
            top += layout.scene_height(scene);
        }
        tops.push(top);
        layout.tops = tops;
        layout
    }

    pub fn metrics(&self) -> GridMetrics {
        self.metrics
    }

    pub fn scenes(&self) -> usize {
        self.counts.len()
    }

    /// Rows of cards in a scene.
    pub fn rows(&self, scene: usize) -> usize {
        self.counts
            .get(scene)
            .map_or(0, |n| n.div_ceil(self.metrics.columns))
    }

    fn pitch(&self) -> f32 {
        self.metrics.card + self.metrics.gap
    }

    /// The height of a scene's list content.
    fn content(&self, scene: usize) -> f32 {
        match self.rows(scene) {
            0 => self.metrics.empty,
            rows => self.spacer(rows),
        }
    }

    pub fn scene_height(&self, scene: usize) -> f32 {
        self.metrics.chrome + self.content(scene)
    }

    /// The top of scene `scene` (`scenes()` gives the end of the board).
    pub fn top(&self, scene: usize) -> f32 {
        self.tops
            .get(scene)
            .or(self.tops.last())
            .copied()
            .unwrap_or(0.0)
    }

    pub fn height(&self) -> f32 {
        self.top(self.scenes())
    }

    /// The height of a spacer standing for `rows` rows (the gap after the last of them is the
    /// grid's own).
    pub fn spacer(&self, rows: usize) -> f32 {
        if rows == 0 {
            return 0.0;
        }
        rows as f32 * self.pitch() - self.metrics.gap
    }

    /// The row holding the card with index `index` within its scene.
    pub fn row_of(&self, index: usize) -> usize {
        index / self.metrics.columns
    }

    /// The top of a row of cards.
    pub fn row_top(&self, scene: usize, row: usize) -> f32 {
        self.top(scene) + self.metrics.head + row as f32 * self.pitch()
    }

    /// The scene at height `y` (the last one below the end).
    fn scene_at(&self, y: f32) -> usize {
        // The first scene whose end is below `y`.
        self.tops[1..]
            .partition_point(|end| *end <= y)
            .min(self.scenes().saturating_sub(1))
    }

    /// The window for the band `top..bottom` (px from the top of the first scene), with the
    /// rows of the `pinned` cards (scene, index within the scene) shown wherever they are.
    pub fn window(&self, top: f32, bottom: f32, pinned: &[(usize, usize)]) -> Window {
        let n = self.scenes();
        if n == 0 {
            return Window::default();
        }
        let mut shown: Vec<(usize, Vec<Range<usize>>)> = Vec::new();
        if bottom > top && bottom > 0.0 && top < self.height() {
            let (first, last) = (self.scene_at(top), self.scene_at(bottom));
            for scene in first..=last {
                let rows = self.rows(scene);
                let pitch = self.pitch();
                let list = self.row_top(scene, 0);
                // Rows whose extent meets the band.
                let from = ((top - list) / pitch).floor().max(0.0) as usize;
                let to = (((bottom - list) / pitch).ceil().max(0.0) as usize).min(rows);
                shown.push((scene, std::iter::once(from.min(to)..to).collect()));
            }
        }
        for &(scene, index) in pinned {
            if scene >= n || index >= self.counts[scene] {
                continue;
            }
            let row = self.row_of(index);
            match shown.iter_mut().find(|(s, _)| *s == scene) {
                Some((_, rows)) => rows.push(row..row + 1),
                None => shown.push((scene, std::iter::once(row..row + 1).collect())),
            }
        }
        shown.sort_by_key(|(s, _)| *s);
        let mut window = Window::default();
        let mut end = 0.0;
        for (scene, rows) in shown {
            window.scenes.push(ShownScene {
                scene,
                gap_before: self.top(scene) - end,
                rows: normalize(rows),
            });
            end = self.top(scene + 1);
        }
        window.gap_after = self.height() - end;
        window
    }

    /// A shown scene's list: its shown rows' cards, with spacers for the rows between them.
    pub fn pieces(&self, scene: usize, rows: &[Range<usize>]) -> Vec<Piece> {
        let count = self.counts.get(scene).copied().unwrap_or(0);
        let total = self.rows(scene);
        let columns = self.metrics.columns;
        let mut pieces = Vec::new();
        let mut next = 0;
        for range in rows {
            let (start, end) = (range.start.min(total), range.end.min(total));
            if start >= end {
                continue;
            }
            if start > next {
                pieces.push(Piece::Spacer {
                    first_row: next,
                    rows: start - next,
                    height: self.spacer(start - next),
                });
            }
            pieces.push(Piece::Cards(start * columns..(end * columns).min(count)));
            next = end;
        }
        if total > next {
            pieces.push(Piece::Spacer {
                first_row: next,
                rows: total - next,
                height: self.spacer(total - next),
            });
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(columns: usize) -> GridMetrics {
        GridMetrics {
            columns,
            card: 200.0,
            gap: 10.0,
            head: 40.0,
            chrome: 70.0,
            empty: 50.0,
        }
    }

    /// The height a scene's pieces take in a grid with the layout's metrics: each piece's own
    /// height, a row of cards per `columns` cards, the gap between consecutive rows.
    fn rendered_content(layout: &GridLayout, pieces: &[Piece]) -> f32 {
        let m = layout.metrics();
        let mut rows: Vec<f32> = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Spacer { height, .. } => rows.push(*height),
                Piece::Cards(cards) => {
                    rows.extend(std::iter::repeat_n(m.card, cards.len().div_ceil(m.columns)))
                }
            }
        }
        if rows.is_empty() {
            return m.empty;
        }
        rows.iter().sum::<f32>() + (rows.len() - 1) as f32 * m.gap
    }

    #[test]
    fn scene_heights_follow_from_shot_counts() {
        let layout = GridLayout::new(vec![0, 1, 5, 6], metrics(5));
        assert_eq!(layout.rows(0), 0);
        assert_eq!(layout.rows(2), 1);
        assert_eq!(layout.rows(3), 2);
        assert_eq!(layout.scene_height(0), 70.0 + 50.0);
        assert_eq!(layout.scene_height(1), 70.0 + 200.0);
        assert_eq!(layout.scene_height(3), 70.0 + 410.0);
        assert_eq!(layout.top(2), 120.0 + 270.0);
        assert_eq!(layout.height(), 120.0 + 270.0 + 270.0 + 480.0);
        assert_eq!(layout.row_top(3, 1), layout.top(3) + 40.0 + 210.0);
    }

    #[test]
    fn the_window_holds_the_rows_in_the_band_and_spacers_stand_for_the_rest() {
        // 3,700 shots in scenes of varied size, as an imported novel gives them.
        let counts: Vec<usize> = (0..300).map(|i| (i * 7) % 23).collect();
        for columns in [1, 4, 6] {
            let layout = GridLayout::new(counts.clone(), metrics(columns));
            for band in [0.0, 1234.5, layout.height() / 2.0, layout.height() - 300.0] {
                let (top, bottom) = (band, band + 900.0);
                let window = layout.window(top, bottom, &[]);
                let mut covered = 0.0;
                let mut shown_rows = 0;
                for s in &window.scenes {
                    covered += s.gap_before;
                    let pieces = layout.pieces(s.scene, &s.rows);
                    // The list renders to the height the layout gives the scene.
                    let content = rendered_content(&layout, &pieces);
                    assert!((content - (layout.scene_height(s.scene) - 70.0)).abs() < 0.01);
                    covered += layout.scene_height(s.scene);
                    for r in &s.rows {
                        shown_rows += r.len();
                        for row in r.clone() {
                            let y = layout.row_top(s.scene, row);
                            assert!(y < bottom && y + 200.0 > top, "row outside the band");
                        }
                    }
                }
                covered += window.gap_after;
                assert!((covered - layout.height()).abs() < 0.5);
                // Every row meeting the band is shown.
                for scene in 0..layout.scenes() {
                    for row in 0..layout.rows(scene) {
                        let y = layout.row_top(scene, row);
                        if y < bottom && y + 200.0 > top {
                            let shown = window.scenes.iter().any(|s| {
                                s.scene == scene && s.rows.iter().any(|r| r.contains(&row))
                            });
                            assert!(shown, "row {row} of scene {scene} is missing");
                        }
                    }
                }
                // A window, not the board: about a screen of rows.
                assert!(shown_rows <= 900 / 210 + 2 * (window.scenes.len() + 1));
            }
        }
    }

    #[test]
    fn pinned_cards_are_shown_wherever_they_are() {
        let layout = GridLayout::new(vec![10, 40, 0, 12], metrics(4));
        // The band covers the first scene; the 30th card of scene 1 (row 7) and the last card
        // of scene 3 are pinned.
        let window = layout.window(0.0, 300.0, &[(1, 29), (3, 11), (2, 0), (9, 0)]);
        let scenes: Vec<usize> = window.scenes.iter().map(|s| s.scene).collect();
        assert_eq!(scenes, vec![0, 1, 3]);
        assert_eq!(window.scenes[1].rows, vec![7..8]);
        assert_eq!(window.scenes[2].rows, vec![2..3]);
        assert_eq!(window.scenes[2].gap_before, layout.scene_height(2));
        assert_eq!(
            layout.pieces(1, &window.scenes[1].rows),
            vec![
                Piece::Spacer {
                    first_row: 0,
                    rows: 7,
                    height: layout.spacer(7)
                },
                Piece::Cards(28..32),
                Piece::Spacer {
                    first_row: 8,
                    rows: 2,
                    height: layout.spacer(2)
                },
            ]
        );
        // The last row of a scene holds only the cards there are.
        let last_row: Vec<Range<usize>> = std::iter::once(2..3).collect();
        assert_eq!(layout.pieces(3, &last_row)[1], Piece::Cards(8..12));
        assert_eq!(window.gap_after, 0.0);
    }

    #[test]
    fn an_empty_board_or_a_band_off_the_board_shows_nothing_but_pins() {
        let empty = GridLayout::new(Vec::new(), metrics(3));
        assert_eq!(empty.window(0.0, 500.0, &[(0, 0)]), Window::default());
        let layout = GridLayout::new(vec![3, 3], metrics(3));
        let below = layout.window(layout.height() + 10.0, layout.height() + 900.0, &[]);
        assert!(below.scenes.is_empty());
        assert_eq!(below.gap_after, layout.height());
        let pinned = layout.window(-900.0, -10.0, &[(1, 2)]);
        assert_eq!(pinned.scenes.len(), 1);
        assert_eq!(pinned.scenes[0].gap_before, layout.top(1));
    }
}
