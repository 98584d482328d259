-- bench/load.py --client wrk: each wrk thread is one signed-in teacher on one connection (wrk -t N -c N),
-- looping like the Python client: upload a classroom photo (a new session each time), then poll its job
-- JSON 3 times, 1 s apart. Teachers (course, cookie, CSRF token, photo file) come from the file named by
-- WRK_TEACHERS, written by bench/load.py after it signed them up; per-request latencies (ms, upload and
-- poll apart, each with its start in seconds from the thread's start) and errors go to the file named by WRK_RESULTS. The multipart body is built once per
-- teacher; only the session label changes per upload.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- Main state: hand one teacher to each thread.
local teachers = {}
local threads = {}

function setup(thread)
  if #teachers == 0 then
    for line in io.lines(os.getenv("WRK_TEACHERS")) do
      teachers[#teachers + 1] = line
    end
  end
  threads[#threads + 1] = thread
  thread:set("teacher", teachers[#threads])
end

-- Thread state.
uploads, polls, errors = {}, {}, {}
local course, cookie, agent, head, tail
local kind, job, polls_done, n, t0, t_init = "upload", nil, 0, 0, 0, 0
local start_offset = nil -- ms before the first upload (WRK_STAGGER=1: a random point of the ~3 s loop)

function init(args)
  t_init = now_ms()
  local photo
  course, cookie, token, photo, agent = teacher:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
  local f = assert(io.open(photo, "rb"))
  local data = f:read("*a")
  f:close()
  boundary = "wrkbench" .. course
  local function field(name, value)
    return "--" .. boundary .. '\r\nContent-Disposition: form-data; name="' .. name .. '"\r\n\r\n' .. value .. "\r\n"
  end
  math.randomseed(tonumber(course))
  start_offset = os.getenv("WRK_STAGGER") == "1" and math.random(0, 3000) or 0
  head = field("csrf_token", token) .. field("date", "2026-11-24") .. "--" .. boundary
    .. '\r\nContent-Disposition: form-data; name="label"\r\n\r\n'
  tail = "\r\n--" .. boundary .. '\r\nContent-Disposition: form-data; name="photos"; filename="room.jpg"\r\n'
    .. "Content-Type: image/jpeg\r\n\r\n" .. data .. "\r\n--" .. boundary .. "--\r\n"
end

function delay()
  if start_offset then
    local first = start_offset
    start_offset = nil
    return first
  end
  -- Python client: upload, poll, sleep 1 s, poll, sleep 1 s, poll, sleep 1 s, upload ...
  if (kind == "poll" and polls_done > 0) or (kind == "upload" and polls_done == 3) then
    return 1000
  end
  return 0
end

function request()
  t0 = now_ms()
  if kind == "upload" then
    n = n + 1
    return wrk.format("POST", "/courses/" .. course .. "/sessions", {
      ["Cookie"] = cookie,
      ["User-Agent"] = agent,
      ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    }, head .. "P" .. n .. tail)
  end
  return wrk.format("GET", "/jobs/" .. job .. ".json", { ["Cookie"] = cookie, ["User-Agent"] = agent })
end

function response(status, headers, body)
  local ms = now_ms() - t0
  if kind == "upload" then
    local location = headers["Location"] or ""
    local found = location:match("/jobs/([^/?#]+)$")
    if status == 303 and found then
      uploads[#uploads + 1] = ms .. "\t" .. (t0 - t_init) / 1000
      job, polls_done, kind = found, 0, "poll"
    else
      errors[#errors + 1] = "upload " .. status .. " " .. location
      polls_done = 0
    end
  else
    if status == 200 then
      polls[#polls + 1] = ms .. "\t" .. (t0 - t_init) / 1000
    else
      errors[#errors + 1] = "poll " .. status
    end
    polls_done = polls_done + 1
    if polls_done == 3 then
      kind = "upload"
    end
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("WRK_RESULTS"), "w"))
  for _, thread in ipairs(threads) do
    for _, what in ipairs({ "uploads", "polls", "errors" }) do
      for _, value in ipairs(thread:get(what)) do
        out:write(what, "\t", value, "\n")
      end
    end
  end
  local e = summary.errors
  for _, name in ipairs({ "connect", "read", "write", "timeout" }) do
    if e[name] > 0 then
      out:write("errors\tsocket ", name, " x", e[name], "\n")
    end
  end
  out:close()
end
