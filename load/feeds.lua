-- wrk script for the load run (see load/run.py): cycles over every URL of a list file,
-- sends If-None-Match with the ETag last seen for that URL on every third visit of it (the
-- first visit of a URL is never conditional), counts status classes, and prints one
-- parseable line from done():
--
--   wrk -t2 -c64 -d30s --latency -s load/feeds.lua http://127.0.0.1:PORT -- urls.txt
--
-- The list file (one path per line, e.g. /feeds/all.atom) is the first script argument or
-- the file named by FEEDS_LOAD_URLS. wrk does not tell response() which request it answers,
-- so a 200's URL is recovered from the response itself: the feed's self link (Atom and RSS
-- rel="self", JSON Feed "feed_url"), or its media type for the one HTML page and the one
-- OPML document of the list. Requests carry no Accept-Encoding, so bodies are identity.

local urls = {}
local etags = {}   -- path -> last ETag seen for it (this thread)
local visits = {}  -- path -> visits so far (this thread)
local next_index = 1
local by_type = {} -- "html" / "opml" -> the single path of that type in the list
local host = nil

-- counters, read by done() through thread:get()
url_count = 0
c_requests = 0
c_conditional = 0
c_2xx = 0
c_304 = 0
c_3xx = 0
c_4xx = 0
c_5xx = 0
c_other = 0
c_unmatched = 0 -- 200 responses whose URL could not be recovered (ETag not learned)

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_number", thread_count)
   table.insert(threads, thread)
end

local function read_list(path)
   local file, err = io.open(path, "r")
   if not file then
      error("cannot read the URL list " .. tostring(path) .. ": " .. tostring(err))
   end
   for line in file:lines() do
      line = line:gsub("^%s+", ""):gsub("%s+$", "")
      if line ~= "" and line:sub(1, 1) ~= "#" then
         table.insert(urls, line)
      end
   end
   file:close()
   if #urls == 0 then
      error("the URL list " .. path .. " is empty")
   end
end

function init(args)
   local path = args[1] or os.getenv("FEEDS_LOAD_URLS")
   if not path or path == "" then
      error("give the URL list as `-- FILE` or in FEEDS_LOAD_URLS")
   end
   read_list(path)
   url_count = #urls
   host = wrk.headers["Host"]
   for _, url in ipairs(urls) do
      if url == "/" or url:match("/$") or url:match("%.html$") then
         by_type.html = url
      elseif url:match("%.opml$") then
         by_type.opml = url
      end
   end
   -- threads start at different places in the list
   next_index = (((thread_number or 1) - 1) * math.floor(#urls / 2)) % #urls + 1
end

function request()
   local url = urls[next_index]
   next_index = next_index % #urls + 1
   local seen = (visits[url] or 0) + 1
   visits[url] = seen
   local headers = { ["Host"] = host }
   local etag = etags[url]
   if seen % 3 == 0 and etag then
      headers["If-None-Match"] = etag
      c_conditional = c_conditional + 1
   end
   c_requests = c_requests + 1
   return wrk.format("GET", url, headers)
end

local function header(headers, name)
   return headers[name] or headers[name:lower()]
end

local function path_of(headers, body)
   local media = header(headers, "Content-Type") or ""
   if media:find("text/html", 1, true) then
      return by_type.html
   end
   if media:find("opml", 1, true) then
      return by_type.opml
   end
   if media:find("json", 1, true) then
      return body:match('"feed_url"%s*:%s*"https?://[^/"]+([^"]*)"')
   end
   local link = body:match('<[^<>]-rel="self"[^<>]*>')
   if link then
      return link:match('href="https?://[^/"]+([^"]*)"')
   end
   return nil
end

function response(status, headers, body)
   if status == 304 then
      c_304 = c_304 + 1
   elseif status >= 200 and status < 300 then
      c_2xx = c_2xx + 1
      local etag = header(headers, "ETag")
      local path = etag and path_of(headers, body)
      if path and visits[path] then
         etags[path] = etag
      else
         c_unmatched = c_unmatched + 1
      end
   elseif status >= 300 and status < 400 then
      c_3xx = c_3xx + 1
   elseif status >= 400 and status < 500 then
      c_4xx = c_4xx + 1
   elseif status >= 500 and status < 600 then
      c_5xx = c_5xx + 1
   else
      c_other = c_other + 1
   end
end

function done(summary, latency, requests)
   local totals = {}
   local names = { "requests", "conditional", "2xx", "304", "3xx", "4xx", "5xx", "other", "unmatched" }
   for _, name in ipairs(names) do
      totals[name] = 0
   end
   for _, thread in ipairs(threads) do
      for _, name in ipairs(names) do
         totals[name] = totals[name] + (thread:get("c_" .. name) or 0)
      end
   end
   local e = summary.errors
   local fields = {
      string.format("completed=%d", summary.requests),
      string.format("duration_us=%d", summary.duration),
      string.format("bytes=%d", summary.bytes),
      string.format("urls=%d", threads[1] and threads[1]:get("url_count") or 0),
   }
   for _, name in ipairs(names) do
      table.insert(fields, string.format("%s=%d", name, totals[name]))
   end
   table.insert(fields, string.format("socket_connect=%d", e.connect))
   table.insert(fields, string.format("socket_read=%d", e.read))
   table.insert(fields, string.format("socket_write=%d", e.write))
   table.insert(fields, string.format("socket_timeout=%d", e.timeout))
   table.insert(fields, string.format("status_errors=%d", e.status))
   for _, p in ipairs({ 50, 90, 99, 99.9 }) do
      table.insert(fields, string.format("p%s_us=%d", tostring(p):gsub("%.", "_"), latency:percentile(p)))
   end
   table.insert(fields, string.format("max_us=%d", latency.max))
   io.write("FEEDS-LOAD " .. table.concat(fields, " ") .. "\n")
end
