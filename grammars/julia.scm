; cseek chunk query for Julia.
;
; Convention (shared by every grammars/*.scm): capture a definition's whole node as
; @definition.<kind> (function, method, class, struct, enum, trait, interface, impl,
; module, type, macro) and its name as @name; an optional @container names the container
; when it is not the enclosing definition. When several patterns capture the same @name
; node, the largest definition node wins (wrappers such as `export` come along); when two
; patterns capture the same node, the earlier pattern wins. Functions inside a class-like
; definition become methods; definitions inside functions stay part of them. Comments
; directly above a definition are added by the chunker.
; A docstring directly above a definition is added by the chunker like a comment.

(function_definition (signature (call_expression . (identifier) @name))) @definition.function
(function_definition
  (signature (call_expression . (field_expression (identifier) @name .)))) @definition.function
(function_definition (signature (where_expression (call_expression . (identifier) @name)))) @definition.function
(function_definition (signature (typed_expression (call_expression . (identifier) @name)))) @definition.function
; Short form `f(x) = ...`.
(assignment . (call_expression . (identifier) @name)) @definition.function
(assignment . (where_expression . (call_expression . (identifier) @name))) @definition.function
(macro_definition (signature (call_expression . (identifier) @name))) @definition.macro
(struct_definition (type_head [(identifier) @name (parametrized_type_expression . (identifier) @name) (binary_expression . (identifier) @name) (binary_expression . (parametrized_type_expression . (identifier) @name))])) @definition.struct
(abstract_definition (type_head [(identifier) @name (binary_expression . (identifier) @name)])) @definition.type
(module_definition name: (identifier) @name) @definition.module
