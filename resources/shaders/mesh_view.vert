#version 330
// The person mesh in world space (= capture camera space, metres, OpenCV axes), head turned by the view's
// edit about the neck pivot, seen by an orbiting viewer camera.
uniform mat4 u_view_proj;
uniform mat3 u_edit;     // R_edit
uniform vec3 u_pivot;    // neck pivot
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
in float in_head;
out vec3 v_normal;
out vec2 v_uv;
void main() {
    vec3 turned = u_edit * (in_pos - u_pivot) + u_pivot;
    vec3 p = mix(in_pos, turned, in_head);
    v_normal = normalize(mix(in_normal, u_edit * in_normal, in_head));
    v_uv = in_uv;
    gl_Position = u_view_proj * vec4(p, 1.0);
}
