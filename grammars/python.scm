; cseek chunk query for Python.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (so wrappers such as decorators come along).
; Functions inside a class become methods; definitions inside functions stay in them.

(function_definition name: (identifier) @name) @definition.function

(class_definition name: (identifier) @name) @definition.class

; Decorators belong to the definition they decorate.
(decorated_definition
  definition: (function_definition name: (identifier) @name)) @definition.function

(decorated_definition
  definition: (class_definition name: (identifier) @name)) @definition.class

; A module-level assignment to a plain name is a variable: Flask's `g: _AppCtxGlobals =
; LocalProxy(…)`. Class attributes and locals are not, nor module metadata (`__all__`).
; The chunker keeps one-line bindings with the code around them.
(module
  (expression_statement
    (assignment left: (identifier) @name)
    (#not-match? @name "^__.*__$")) @definition.variable)
