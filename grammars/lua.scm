; cseek chunk query for Lua.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.
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
