// Reads each feed file named on the command line with two Node.js feed parsers, rss-parser and
// @extractus/feed-extractor, and prints what each found as one JSON object: {path: {reader: feed}}.
// A parser that throws reports {"error": message} for that file.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.FEEDS_NODE_MODULES + "/");
const RSSParser = require("rss-parser");
const { extractFromXml, extractFromJson } = require("@extractus/feed-extractor");

const rssParser = new RSSParser();
const out = {};
for (const path of process.argv.slice(2)) {
  const text = readFileSync(path, "utf-8");
  const json = path.endsWith(".json");
  const result = {};
  if (!json) {
    try {
      const feed = await rssParser.parseString(text);
      result["rss-parser"] = {
        title: feed.title,
        entries: feed.items.map((item) => ({
          id: item.guid ?? item.id,
          title: item.title,
          link: item.link,
          date: item.isoDate,
        })),
      };
    } catch (error) {
      result["rss-parser"] = { error: String(error) };
    }
  }
  try {
    const options = { descriptionMaxLen: 0, useISODateFormat: true };
    const feed = json ? extractFromJson(text, options) : extractFromXml(text, options);
    result["feed-extractor"] = {
      title: feed.title,
      entries: (feed.entries ?? []).map((entry) => ({
        id: entry.id,
        title: entry.title,
        link: entry.link,
        date: entry.published,
      })),
    };
  } catch (error) {
    result["feed-extractor"] = { error: String(error) };
  }
  out[path] = result;
}
process.stdout.write(JSON.stringify(out));
