; cseek chunk query for R.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.
; A function is a value: `name <- function(…)` (or `=`, `<<-`) defines one, and so
; does `name = function(…)` as an argument (the methods of an R6 class's `public =
; list(…)`). Classes come from calls: `Name <- R6Class("Name", …)`, `setRefClass`,
; `setClass("Name", …)`; S4 generics and methods from `setGeneric("name", …)` and
; `setMethod("name", …)`.

(binary_operator lhs: (identifier) @name rhs: (function_definition)) @definition.function
(argument name: (identifier) @name value: (function_definition)) @definition.function

(binary_operator
  lhs: (identifier) @name
  rhs: (call function: [(identifier) @_f (namespace_operator rhs: (identifier) @_f)])
  (#any-of? @_f "R6Class" "setRefClass" "setClass")) @definition.class
(program
  (call
    function: (identifier) @_f
    arguments: (arguments . (argument value: (string (string_content) @name)))
    (#any-of? @_f "setClass" "setRefClass")) @definition.class)
(program
  (call
    function: (identifier) @_f
    arguments: (arguments . (argument value: (string (string_content) @name)))
    (#any-of? @_f "setGeneric" "setMethod" "setValidity" "setReplaceMethod")) @definition.function)
