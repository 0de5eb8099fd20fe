#version 330
// Draft (slider-drag) frame, step 1 of 2: the photo, with the background plate where the head was.
uniform sampler2D u_photo;       // photo crop at this scale (exact base texels)
uniform ivec2 u_photo_offset;
uniform sampler2D u_plate;       // working grid: rgb = plate, a = where the person was (grown)
uniform sampler2D u_edit_old;    // working grid: where the edit may touch the original photo
uniform sampler2D u_coarse;      // the mesh pass at 1/4 resolution: g = edit weight, b = coverage
uniform vec4 u_window;
uniform vec2 u_extent;           // part of the coarse texture this window uses (uv units)
uniform vec4 u_work;

in vec2 v_uv;
out vec4 out_colour;

void main() {
    vec3 base = texelFetch(u_photo, ivec2(gl_FragCoord.xy) + u_photo_offset, 0).rgb;
    vec2 work_uv = (u_window.xy + v_uv * u_window.zw - u_work.xy) / u_work.zw;
    vec4 plate = texture(u_plate, work_uv);
    float m = clamp(max(texture(u_coarse, v_uv * u_extent).g, texture(u_edit_old, work_uv).r) * 6.0, 0.0, 1.0);
    out_colour = vec4(m > 0.0 ? mix(base, mix(base, plate.rgb, plate.a), m) : base, m);
}
