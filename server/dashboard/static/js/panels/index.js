// Which module draws which log type. VALUE logs have no panel: they are the page's summary.

import * as line from "./line.js";
import * as bar from "./bar.js";
import * as heatmap from "./heatmap.js";
import * as table from "./table.js";
import * as image from "./image.js";
import * as labelmap from "./labelmap.js";
import * as evaluation from "./evaluation.js";

export const PANELS = {
  LINE: line,
  BAR: bar,
  HEATMAP: heatmap,
  TABLE: table,
  IMAGE: image,
  LABELMAP: labelmap,
  EVALUATION: evaluation,
};
