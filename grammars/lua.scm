; cseek chunk query for Lua.
;
; Captures follow the convention in the module docs of src/chunk/mod.rs.
; `function M.f()` and `function Obj:m()` name their table as the container.

(function_declaration name: (identifier) @name) @definition.function
(function_declaration
  name: (dot_index_expression table: (_) @container field: (identifier) @name)) @definition.function
(function_declaration
  name: (method_index_expression table: (_) @container method: (identifier) @name)) @definition.method
; local f = function () ... end
(variable_declaration
  (assignment_statement
    (variable_list name: (identifier) @name)
    (expression_list value: (function_definition)))) @definition.function
(assignment_statement
  (variable_list name: (identifier) @name)
  (expression_list value: (function_definition))) @definition.function
(assignment_statement
  (variable_list name: (dot_index_expression table: (_) @container field: (identifier) @name))
  (expression_list value: (function_definition))) @definition.function

; A table of functions kept under a name (`M.clone = { skip = function … end, run = … }`,
; `local handlers = { … }`) is one definition: a task, a handler set, a small module.
(assignment_statement
  (variable_list name: (dot_index_expression table: (_) @container field: (identifier) @name))
  (expression_list value: (table_constructor (field value: (function_definition))))) @definition.module
(variable_declaration
  (assignment_statement
    (variable_list name: (identifier) @name)
    (expression_list value: (table_constructor (field value: (function_definition)))))) @definition.module

; Any other binding at the top of a file is a variable: `M.defaults = { … }` (a module
; table's field), `local options = { … }`. After the patterns above, which win on the
; same node; the chunker keeps one-line bindings with the code around them.
(chunk
  (assignment_statement
    (variable_list
      name: (dot_index_expression table: (_) @container field: (identifier) @name))) @definition.variable)
(chunk
  (variable_declaration
    (assignment_statement (variable_list name: (identifier) @name))) @definition.variable)
(chunk
  (assignment_statement (variable_list name: (identifier) @name)) @definition.variable)
