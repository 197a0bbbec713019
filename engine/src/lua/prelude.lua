-- Keel's script sandbox, run once when a Lua state is created, with the
-- real globals table as its environment. It receives the Rust functions
-- (`native`). Errors raised by Rust functions reach Lua as userdata; the
-- `pcall` and `xpcall` below turn them into what Redis gives (a string,
-- or an {err=...} table for the message handler).
--
-- Redis 7.0 makes the globals and every library table read-only inside
-- the VM. Stock Lua 5.1 has no such flag, so each protected table is
-- replaced by an empty proxy whose metatable reads from the real table
-- and refuses writes; the raw functions that would bypass a metatable
-- (rawset, rawget, next, pairs, setmetatable) are wrapped to see through
-- or refuse proxies.
local native = ...
local G = _G
local error_, type_, next_, tostring_ = error, type, next, tostring
local rawset_, rawget_, setmetatable_, getmetatable_ = rawset, rawget, setmetatable, getmetatable
local pcall_, setfenv_, loadstring_, load_ = pcall, setfenv, loadstring, load
local READONLY = 'Attempt to modify a readonly table'

-- proxy -> the real table it stands for
local real_of = {}

local function refuse_write()
  error_(READONLY, 2)
end

local function protect(t)
  local proxy = {}
  setmetatable_(proxy, { __index = t, __newindex = refuse_write, __metatable = false })
  real_of[proxy] = t
  return proxy
end

local function unproxy(t)
  return real_of[t] or t
end

-- The Redis library. `call`, `pcall` and `acl_check_cmd` are among the
-- native functions: permanent C functions that reach the host Rust lends
-- for each slice of a run.
local redis = {}
G.redis = redis
for name, f in next_, native.redis do
  redis[name] = f
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = native.version, native.version_num

-- Libraries written in Rust.
for lib, funcs in next_, native.libs do
  local t = {}
  for name, v in next_, funcs do
    t[name] = v
  end
  G[lib] = t
end
G.math.random = native.math.random
G.math.randomseed = native.math.randomseed

-- What Redis 7.0 removes from the globals.
for _, name in next_, { 'print', 'loadfile', 'dofile', 'require', 'module', 'package',
  'setfenv', 'getfenv', 'newproxy', 'debug', 'os', 'io' } do
  G[name] = nil
end

-- Redis's pcall gives the message of an error table ({err=...}), not the table.
local error_text, error_object = native.error_text, native.error_object
local function pcall_result(ok, ...)
  if ok then
    return true, ...
  end
  local e = ...
  if type_(e) == 'userdata' then
    return false, error_text(e)
  end
  if type_(e) == 'table' and type_(rawget_(e, 'err')) == 'string' then
    return false, rawget_(e, 'err')
  end
  return false, ...
end
G.pcall = function(...)
  return pcall_result(pcall_(...))
end
local xpcall_ = xpcall
G.xpcall = function(f, handler)
  return xpcall_(f, function(e)
    if type_(e) == 'userdata' then
      e = error_object(e)
    end
    return handler(e)
  end)
end

G.rawset = function(t, k, v)
  if real_of[t] then
    error_(READONLY, 0)
  end
  return rawset_(t, k, v)
end
G.rawget = function(t, k)
  return rawget_(unproxy(t), k)
end
G.next = function(t, k)
  return next_(unproxy(t), k)
end
G.pairs = function(t)
  return next_, unproxy(t), nil
end
G.setmetatable = function(t, mt)
  if real_of[t] then
    error_(READONLY, 0)
  end
  return setmetatable_(t, mt)
end

-- Code loaded by a script runs in the script's (read-only) globals, and
-- is always text: Redis's Lua refuses precompiled chunks (they could break
-- the VM), so a chunk starting with ESC is parsed as text, which fails as
-- in Redis ("unexpected symbol near 'char(27)'"); a leading space makes
-- stock Lua take it as text without changing lines or messages.
local byte_ = string.byte
local function starts_binary(piece)
  return type_(piece) == 'string' and byte_(piece, 1) == 27
end
local function text_only_reader(reader)
  local first = true
  return function()
    local piece = reader()
    if first and type_(piece) == 'string' and piece ~= '' then
      first = false
      if starts_binary(piece) then
        return ' ' .. piece
      end
    end
    return piece
  end
end
local script_env
G.loadstring = function(s, name)
  if starts_binary(s) then
    s, name = ' ' .. s, name or s
  end
  local f, err = loadstring_(s, name)
  if f then
    setfenv_(f, script_env)
  end
  return f, err
end
G.load = function(fn, name)
  if type_(fn) == 'function' then
    fn = text_only_reader(fn)
  end
  local f, err = load_(fn, name)
  if f then
    setfenv_(f, script_env)
  end
  return f, err
end

-- Reading a global that does not exist is an error.
setmetatable_(G, {
  __index = function(_, k)
    error_("Script attempted to access nonexistent global variable '" .. tostring_(k) .. "'", 2)
  end,
  __metatable = false,
})

for _, name in next_, { 'string', 'table', 'math', 'coroutine', 'redis', 'cjson', 'cmsgpack',
  'bit', 'struct' } do
  if rawget_(G, name) ~= nil then
    G[name] = protect(rawget_(G, name))
  end
end

-- The string metatable is shared by every string: protect it too.
local string_mt = getmetatable_('')
string_mt.__index = G.string
string_mt.__metatable = protect(string_mt)

script_env = protect(G)
G._G = script_env
return script_env, redis
