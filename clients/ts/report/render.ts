// vega-lite → SVG (vega, headless) → PNG (resvg), for every picture the clients write.
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';

export async function render(
  spec: vl.TopLevelSpec,
): Promise<{ svg: string; png: Buffer; width: number; height: number }> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const rendered = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    background: 'white',
  }).render();
  return { svg, png: Buffer.from(rendered.asPng()), width: rendered.width, height: rendered.height };
}
