//! Writes one offline storyboard frame: `cargo run -p provider-adapters --example frame -- OUT.png [FRAMING]`.

use provider_adapters::offline::render_frame;
use provider_adapters::{ShotSketch, Size, SketchCharacter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "frame.png".into());
    let framing = args.next().unwrap_or_else(|| "close-up".into());
    let sketch = ShotSketch {
        number: "7A".into(),
        scene: "许田 · 围猎".into(),
        framing,
        camera: "handheld, slight tilt".into(),
        description: "曹操纵马上前，接过天子的宝雕弓，一箭射中大鹿。群臣以为天子射中，齐呼万岁。"
            .into(),
        dialogue: "关羽：（按刀欲斩）……".into(),
        characters: ["曹操", "汉献帝", "关羽"]
            .iter()
            .map(|n| SketchCharacter {
                name: (*n).into(),
                color: None,
            })
            .collect(),
        duration_ms: 4000,
    };
    std::fs::write(&out, render_frame(&sketch, Size::HD)?)?;
    Ok(())
}
