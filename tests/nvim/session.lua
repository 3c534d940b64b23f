-- Opens a trainer in a real Neovim with arcgraph as its language server, waits for what the
-- user would see, writes a model file outside the editor, waits again; records it all as
-- JSON in $ARCGRAPH_NVIM_OUT. Neovim >= 0.8 starts the client with vim.lsp.start, 0.7 with
-- vim.lsp.start_client + vim.lsp.buf_attach_client (the README's two forms).
local env = vim.env
local ws = env.ARCGRAPH_NVIM_WS
local out = {version = tostring(vim.version().major) .. "." .. tostring(vim.version().minor), stages = {}}

local function finish()
  vim.fn.writefile({vim.fn.json_encode(out)}, env.ARCGRAPH_NVIM_OUT)
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  local lsplog = require("vim.lsp.log")
  lsplog.set_level("WARN")
  out.log = lsplog.get_filename()
  vim.cmd("edit " .. vim.fn.fnameescape(env.ARCGRAPH_NVIM_TRAINER))
  local buf = vim.api.nvim_get_current_buf()
  local config = {
    name = "arcgraph",
    cmd = vim.fn.json_decode(env.ARCGRAPH_NVIM_SERVER),
    root_dir = ws,
    workspace_folders = {{uri = vim.uri_from_fname(ws), name = "ws"}},
  }
  local id
  if vim.fn.has("nvim-0.8") == 1 then
    out.api = "vim.lsp.start"
    id = vim.lsp.start(config)
  else
    out.api = "vim.lsp.start_client"
    id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(buf, id)
  end

  local function seen()
    local items = {}
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
      table.insert(items, {code = code, lnum = d.lnum, col = d.col, message = d.message})
    end
    table.sort(items, function(a, b) return a.lnum < b.lnum end)
    return items
  end
  local function codes()
    local c = {}
    for _, d in ipairs(seen()) do table.insert(c, d.code) end
    return table.concat(c, ",")
  end
  local function stage(name, want)
    local reached = vim.wait(120000, function() return codes() == want end, 50)
    table.insert(out.stages, {name = name, reached = reached, diagnostics = seen()})
    return reached
  end

  -- no edit: the catalog (built by the torch worker) and the registry arrive by themselves
  if not stage("opened", "AG201,AG211") then return end
  local client = vim.lsp.get_client_by_id(id)
  out.pull = client.server_capabilities ~= nil and client.server_capabilities.diagnosticProvider ~= nil
  -- the model appears on disk, written by something else than the editor
  vim.fn.writefile(vim.fn.readfile(ws .. "/models/iris-classifier-v1.model.yaml"), env.ARCGRAPH_NVIM_MODEL)
  if not stage("model written", "AG211") then return end
  vim.fn.delete(env.ARCGRAPH_NVIM_MODEL)
  stage("model deleted", "AG201,AG211")
end)
if not ok then out.error = tostring(err) end
finish()
