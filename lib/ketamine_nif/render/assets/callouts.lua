-- Quarto-style callouts (::: {.callout-note title="..."}) for the offline renderer.
-- HTML: a titled <div class="callout callout-KIND">; Typst: a tinted block.
local titles = { note = "Note", tip = "Tip", warning = "Warning", important = "Important", caution = "Caution" }
local colours = {
  note = { "#0b6e99", "#e8f3f8" }, tip = { "#1b7f3b", "#e9f6ed" }, warning = { "#b35900", "#fdf1e3" },
  important = { "#a1122b", "#fbe9ec" }, caution = { "#8a6d00", "#fbf5dd" },
}

function Div(el)
  for _, cls in ipairs(el.classes) do
    local kind = cls:match("^callout%-(%a+)$")
    if kind then
      local title = el.attributes["title"] or titles[kind] or kind
      el.attributes["title"] = nil
      local heading = pandoc.Para({ pandoc.Strong(pandoc.Str(title)) })
      if FORMAT:match("typst") then
        local c = colours[kind] or colours.note
        local blocks = { pandoc.RawBlock("typst", string.format(
          '#block(width: 100%%, inset: 8pt, radius: 3pt, stroke: (left: 3pt + rgb("%s")), fill: rgb("%s"))[', c[1], c[2])) }
        table.insert(blocks, heading)
        for _, b in ipairs(el.content) do table.insert(blocks, b) end
        table.insert(blocks, pandoc.RawBlock("typst", "]"))
        return blocks
      end
      table.insert(el.content, 1, pandoc.Div({ heading }, { class = "callout-title" }))
      el.classes:insert("callout")
      el.attributes["role"] = (kind == "warning" or kind == "important") and "alert" or "note"
      return el
    end
  end
end
